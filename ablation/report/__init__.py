"""Report: tables for the terminal and CSV files for papers."""
