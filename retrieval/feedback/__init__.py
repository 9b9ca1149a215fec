"""What people asked and whether the answers helped: the question log (``log``), the salted user hashes
(``privacy``), and the operator's report built from them (``report``, ``report_html``)."""
