import sys

from nks_operator.cli import main

sys.exit(main())
