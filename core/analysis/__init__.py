"""What the loop reads off runs and datasets: comparisons with significance, learning and validation
curves, the bias/variance diagnosis, tuning, the locked test set, data quality and dimensionality.

May import store, data and modeling; never report.
"""
