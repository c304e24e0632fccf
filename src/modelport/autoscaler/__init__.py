"""The autoscaler's pure core: windowed metrics (window.py) and the policy (policy.py).

Nothing here does I/O or reads a clock: callers pass timestamps (monotonic seconds) in. The loop
that feeds it and writes its decisions is controller/autoscale.py (docs/autoscaling.md).
"""
