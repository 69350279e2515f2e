import sys

from ablation.report.command import main

if __name__ == "__main__":
    sys.exit(main())
