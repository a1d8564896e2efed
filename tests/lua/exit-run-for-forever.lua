-- args: --run-for 0 --duration 0.4
-- min-seconds: 0.35
-- max-seconds: 2
-- --run-for 0 runs until stopped (here by --duration), even when idle.
print("idle but kept alive")
