"""E-invoices (EN 16931): a document as Cross Industry Invoice XML (``cii``, pure, built with
``drafthorse``) and as a Factur-X / ZUGFeRD hybrid, the PDF/A-3 a person reads with that XML
embedded for the buyer's accounts-payable system (``hybrid``, with the ``factur-x`` library,
which checks the XML against the official schema before embedding it)."""
