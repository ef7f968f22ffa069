"""The surveys' pages, one module per blueprint: ``answering`` (residents answer a survey, opt
out, give site feedback) and ``results`` (staff read the results; filters in ``results_forms``)."""
