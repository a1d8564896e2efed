-- exit: 3
setInterval(function() end, 10)
setTimeout(function() print("exiting") os.exit(3) end, 20)
