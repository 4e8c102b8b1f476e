"""The paper's figures and the diagnostic ones: functions that take arrays or tables and return a
:class:`matplotlib.figure.Figure` (one module per figure or pair of figures).

- :mod:`.colours`: Fig. 1; :mod:`.parallaxes`: Figs. 2 and 3; :mod:`.cluster_parallaxes`: Fig. 4;
  :mod:`.precision`: Fig. 5; :mod:`.disk`: Fig. 6;
- :mod:`.crossval`, :mod:`.coefficients`, :mod:`.uncertainty`: cross-validation, model and
  uncertainty diagnostics; :mod:`.repeats`: the coefficients over repeated random splits
  (model.split_repeats);
- :mod:`.common`: backend, style and saving; :mod:`.data`: the catalog beside the Parent Sample;
  :mod:`.star_cuts`: the stars a figure's style leaves out (the paper's Figs. 5 and 6), counted.

Each figure takes its style (config ``figures.<figure>``, or ``figures.<figure>.paper`` when
``switches.figures`` is paper): ranges, colour maps and scales, panels, axes and star cuts.
"""
