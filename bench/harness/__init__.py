"""The collab-notes benchmark harness: installs the peers, starts servers, runs the load
generator against each, and writes the results table and chart.

Run it through ``bench/run``; ``bench/README.md`` explains what is measured and how.
"""
