"""The asker's page (HTML, CSS, JavaScript), installed with the package as ``citeqa.web``."""
