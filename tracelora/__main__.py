import sys

from tracelora.cli import main

sys.exit(main())
