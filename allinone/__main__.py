"""``python -m allinone ARGS`` is the ``atoll`` command (tests start `atoll up` this way)."""

import sys

from allinone.main import main

sys.exit(main())
