"""Where the documentation lives: the estimators' HTML repr links to their API pages from here.

scikit-learn's ``_repr_html_`` shows a "?" link to an estimator's documentation, built from the
class attributes ``_doc_link_module`` and ``_doc_link_template`` (its ``_doc_link_*`` hooks).
The docs build every public class's page at ``api/generated/sklearn_regpen.<Name>.html``
(autosummary, ``docs/api.rst``), so the estimators set::

    _doc_link_module = "sklearn_regpen"
    _doc_link_template = API_PAGE_TEMPLATE

>>> API_PAGE_TEMPLATE.format(estimator_name="RegularizedMLPClassifier")
'https://sklearn-regpen.readthedocs.io/en/stable/api/generated/sklearn_regpen.RegularizedMLPClassifier.html'
"""  # noqa: E501

__all__ = ["API_PAGE_TEMPLATE", "DOCS_URL"]

#: the published documentation's root (the site that ``docs/`` builds)
DOCS_URL = "https://sklearn-regpen.readthedocs.io/en/stable/"

#: an estimator's API page; ``{estimator_name}`` is its class name, exported by ``sklearn_regpen``
API_PAGE_TEMPLATE = DOCS_URL + "api/generated/sklearn_regpen.{estimator_name}.html"
