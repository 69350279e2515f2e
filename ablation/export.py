"""``python -m ablation.export [tracking.uri=...] [tracking.experiment=...] [out=results/ablation.csv]``"""

import sys

from ablation.report.export import main

if __name__ == "__main__":
    sys.exit(main())
