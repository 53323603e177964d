"""Answers for the meldkamer from a run folder: point and route queries and an HTTP service.

The top layer: it reads run folders written by the pipeline and imports
anything below it. :mod:`~c2000cov.service.query` answers points and routes,
:mod:`~c2000cov.service.inputs` reads points and routes from files and
request bodies, :mod:`~c2000cov.service.server` is the HTTP JSON service
(Starlette on uvicorn), :mod:`~c2000cov.service.advice` words the advice.
"""
