"""Statistics as pure functions over counts and per-unit aggregates: no SQL, no Streamlit.

``proportions``    Wilson interval and the two-proportion z-test (ratings as independent draws)
``cluster``        per-arm estimates and differences that treat the unit (a person or a
                   conversation) as the independent draw: ratio estimator, delta-method variance
``sequential``     an anytime-valid confidence sequence for a difference, safe to look at daily
``srm``            the sample-ratio-mismatch check of an experiment's assignment
``power``          how many units per arm would show a given difference
``bradley_terry``  Bradley-Terry ratings from pairwise votes
``agreement``      agreement between raters (Krippendorff's alpha, Cohen's kappa)
"""
