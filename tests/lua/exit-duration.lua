-- args: --duration 0.4
-- min-seconds: 0.35
-- max-seconds: 2
-- --duration stops a run that would go on forever.
setInterval(function() end, 10)
print("started")
