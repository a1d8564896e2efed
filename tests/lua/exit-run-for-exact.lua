-- args: --run-for -0.4
-- min-seconds: 0.35
-- max-seconds: 2
-- --run-for N < 0: exactly |N| seconds, idle or not.
print("nothing pending")
