"""``python -m linkfilter``: hand over to the command line entry point."""

from linkfilter.cli import main

if __name__ == "__main__":
    main()
