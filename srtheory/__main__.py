import sys

from srtheory.cli import main

sys.exit(main())
