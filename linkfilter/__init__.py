"""linkfilter: echo text from a pipe and print the titles of the pages it links to.

Every input line is written out at once, byte for byte; the http(s) and ``www.``
links found in it are fetched on a pool of threads, and each page's title is
printed as soon as it is known, between whole lines of the echo.
"""

__version__ = "0.1.0"
