"""Monitoring (运行监控): the record of the scheduled jobs' runs; statistics come here too."""
