"""The estimators' shared docstring, filled per estimator (one text, no copies)."""

from __future__ import annotations

from .penalties import PENALTIES


def _penalty_lines() -> str:
    lines = []
    for name, cls in PENALTIES.items():
        summary = cls.__doc__.strip().split("\n\n")[0]
        summary = " ".join(summary.split()).split(": ", 1)[-1]
        knobs = [
            k for k, used in (("alpha", cls.uses_alpha), ("epsilon", cls.uses_epsilon)) if used
        ]
        lines.append(f"        - ``{name!r}`` ({', '.join(knobs) or 'no knob'}): {summary}")
    return "\n".join(lines)


ESTIMATOR_DOC = """{summary}

    A multi-layer perceptron trained with Adam or SGD on {loss} plus an input-space penalty,
    built on skorch and PyTorch. Parameter and fitted attribute names follow scikit-learn's
    ``{sklearn_name}`` where the meaning is the same, so the two can be swapped in a grid.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default={hidden_default}
        Width of each hidden layer.{hidden_note}
    activation : {{"relu", "tanh", "logistic", "identity"}}, default="relu"
        Hidden-layer non-linearity.
    solver : {{"adam", "sgd"}}, default="adam"
        The optimizer: ``torch.optim.Adam`` (fused where torch has it) or ``torch.optim.SGD``,
        at the rate ``learning_rate_init`` (and ``learning_rate``'s schedule). scikit-learn's
        ``"lbfgs"`` is refused with a ``ValueError``: L-BFGS steps on the whole training set and
        evaluates the objective again along each step, while the penalties are estimated on
        mini-batches and most draw new noise at every evaluation.
    momentum : float, default=0.9
        SGD's momentum, in [0, 1]; used when ``solver="sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum; used when ``solver="sgd"`` and ``momentum > 0``.
    beta_1 : float, default=0.9
        Adam's decay rate of the running mean of the gradient, in [0, 1); used when
        ``solver="adam"``.
    beta_2 : float, default=0.999
        Adam's decay rate of the running mean of the squared gradient, in [0, 1); used when
        ``solver="adam"``.
    n_members : int, default=1
        Networks trained together, in one vectorized pass (their weights stacked, each layer one
        batched matrix product), each with its own seed: its own initialization, batch order and
        penalty draws. The model averages their class probabilities (classifier) or their
        predictions (regressor). Member ``i`` trains step for step as the network that
        ``n_members=1`` fits with ``random_state`` set to the ``i``-th integer that
        ``numpy.random.RandomState(random_state)`` draws below ``2**31 - 1`` (the same
        initialization, batches and draws, equal to float rounding over the first epochs; the
        batched arithmetic rounds differently, and over hundreds of epochs the two drift apart
        as any two differently rounded trainings do), and stops at its own epoch with its own
        best weights. ``loss_curve_`` is then the members' mean loss at each epoch (of those
        still training), and ``n_iter_`` the longest member's epochs. ``warm_start`` and
        ``partial_fit`` do not continue an ensemble. On KEEL tables of 160 to 9,892 rows, 8
        members cost a median 2.9x the CPU time of one network (1.7x to 5.6x; ``c2c`` the most)
        and 2.6x less than 8 separate fits (``benchmarks/results/members.md``).
    penalty : str, default="l2"
        The regularizer. ``alpha`` is its strength (the batch mean of the per-sample term is
        multiplied by ``alpha``) and ``epsilon`` its noise standard deviation or radius, for those
        that use them. ``f`` is {f_meaning}, ``J = df/dx``, ``n ~ N(0, I)`` drawn each step:

{penalties}

        Exact Jacobian norms and Fisher traces cost ``min(n_features, n_outputs)`` extra
        differentiated passes per step: cheap on tables; for 784 pixels and 10 classes about 9x
        a plain step measured (``benchmarks/results/speed.md``; 11x by the FLOP count).
    alpha : float, default={alpha_default}
        Strength of the penalty, >= 0. With ``penalty="l2"`` it is scikit-learn's MLP ``alpha``
        (``0.5 * alpha * sum ||W||^2`` per batch, divided by its rows or the sum of its sample
        weights), up to two exact differences that ``L2Penalty`` states: a binary classifier's
        two softmax outputs, and a multi-output regressor's loss summed, not averaged, over the
        outputs. Useful ranges differ by penalty: search it on a log grid.{alpha_units}
    epsilon : float, default=0.1
        Noise standard deviation (``noise``, ``noisy_jacobian``, ``c2c``, ``kl``) or perturbation
        radius (``c2c_adversarial``, ``vat``), in the units of the (scaled) inputs; > 0 where
        used, ignored otherwise. Not Adam's stability constant, which scikit-learn's
        ``MLPClassifier`` calls ``epsilon``.
    batch_size : int, default=200
        Rows per optimizer step (clipped to the number of training rows).
    shuffle : bool, default=True
        Draw each epoch's batches in a new random order (seeded by ``random_state``); False
        takes the rows in the order of ``X``.
    learning_rate : {{"auto", "constant", "adaptive", "cosine"}}, default="auto"
        The optimizer's rate during ``fit``. ``"constant"``: ``learning_rate_init`` throughout.
        ``"adaptive"``, as scikit-learn's MLP does for its SGD solver: where ``"constant"`` would
        stop (more than ``n_iter_no_change`` epochs without improvement), divide the rate by 5 and
        go on, until it is 1e-6 or less. ``"cosine"``: every optimizer step, a half cosine from
        ``learning_rate_init`` down to 0 at the end of ``max_iter`` epochs; the decay is the
        stopping rule, so the fit runs all ``max_iter`` epochs (no stop on the training loss, no
        ``ConvergenceWarning``) unless ``early_stopping`` stops it on the validation score; each
        ``fit``, a ``warm_start`` one included, runs its own decay from ``learning_rate_init``.
        ``"auto"`` decides from the data, and says so with ``verbose``: ``"constant"`` for inputs
        of fewer than 512 features (tables: exactly the training of the former default),
        ``"cosine"`` for 512 or more (images; on MNIST it kept every penalty's training loss
        from climbing, user guide "Training recipe").
        ``partial_fit`` keeps the rate it has, except after ``"cosine"``, which it resets to
        ``learning_rate_init``: a decay needs the length of a fit, which ``partial_fit`` lacks.
{learning_rate_init_doc}    max_iter : int, default=500
        Maximum number of epochs. 27 of those 50 fits at the default rate ran more than
        scikit-learn's 200 (2 reached 500).
    tol : float, default=1e-4
        Improvement of the training loss (or of the validation score with ``early_stopping``)
        below which an epoch counts as no improvement.
    n_iter_no_change : int, default={n_iter_no_change}
        Training stops after more than this many epochs without improvement (of the validation
        score with ``early_stopping``; of the training loss otherwise, except under the cosine
        schedule, which runs to ``max_iter``). ``fit`` then keeps
        the weights of the best epoch (lowest training loss, or best validation score), not the
        last one, as scikit-learn's MLP would: a loss that spikes late must not leave the model
        on its worst weights. A training loss that ends well above the lowest level it reached
        (more than 1.15 times it, by more than a tenth of its fall and by more than 4 standard
        deviations of its epoch-to-epoch scatter), at its last epoch or, over 20 epochs or more,
        as the median of its last half, is reported by a
        ``TrainingLossClimbWarning`` naming the epochs, the penalty and what to try.
    early_stopping : bool, default={early_stopping}
        Hold out ``validation_fraction`` of the training rows, stop when their score
        (``scoring``) stops improving, and keep the weights of the best epoch. Ignored by
        ``partial_fit``.{stopping_note}
    validation_fraction : float, default=0.1
        Share of the training rows held out when ``early_stopping=True``.
    scoring : {{"loss"}} or None, default="loss"
        What ``early_stopping`` watches on the held-out rows, higher being better. ``"loss"``:
        minus the data loss the network trains on ({loss}, without the penalty's term),
        averaged over those rows, as ``HistGradientBoosting*`` do by default. None: their
        {score_name}, as scikit-learn's MLP does. The loss tells apart epochs that the
        {score_name} of a few dozen rows cannot: on 20 classification tables, early stopping on
        the loss scored 1.6 points of accuracy above early stopping on the accuracy (user guide,
        "Defaults and why").
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, batch order, validation split and penalty noise. With an int,
        fits on CPU are repeatable. torch's global random state is left as it was.
    device : str or torch.device, default="cpu"
        Where to train: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, a ``torch.device``, or
        ``"auto"``, which picks CUDA when available.
    dtype : {{"float32", "float64"}}, default="float32"
        The precision the network trains and predicts in: its parameters, the inputs, targets
        and sample weights, and so the data loss and the penalty. ``"float64"`` is slower
        (double-precision arithmetic is slower on CPUs, and many times slower on most GPUs) but
        takes rounding out of comparisons: integer sample weights then equal repeated rows
        (for the penalties that draw no noise, with the data in one batch) and predictions do
        not depend on how the rows are batched, to far below the 1e-7 of scikit-learn's
        estimator checks, which float32 rounding misses. ``X`` may be float32 or float64
        either way, and ``predict`` and ``predict_proba`` return float64 arrays; torch's
        default dtype (``torch.set_default_dtype``) is left as it is. A fitted model predicts
        in the precision it was fitted in; ``warm_start`` and ``partial_fit`` refuse another.
    n_threads : "auto", int or None, default="auto"
        torch's CPU thread count during ``fit`` and ``predict``, restored afterwards. ``"auto"``
        uses torch's own count (all cores in a plain process; joblib's and Dask's workers
        already limit it to their share) when a training step (or prediction batch) is at least
        50 MFLOP, counted on the module, and one thread below that: a second thread took 0.69x
        the wall time of one for a single fit of a 784-256-10 network on an idle 2-core machine
        (the estimator then at 1.01x a hand-written loop at torch's default threads, against
        1.47x with one thread), gained nothing on digits-sized networks, and cost small fits 1.3x
        to 3x on a loaded machine (``benchmarks/threads.py``). None leaves torch's setting
        alone; an int sets it, up to the number of CPUs.
    semi_supervised : bool, default=False
        {semi_supervised}
    warm_start : bool, default=False
        ``fit`` continues from the weights of the previous fit instead of starting anew, with a
        fresh optimizer built from the parameters as they are now (as scikit-learn's MLP), and
        the learning-rate schedule started again from ``learning_rate_init``. ``partial_fit``
        always continues, with the optimizer's state, unless the optimizer's parameters changed
        since (``optimizer``, ``optimizer__*``): then it starts a fresh one.
    verbose : bool or int, default=False
        Print the loss of every epoch.
    penalty_options : dict or None, default=None
        Options of the chosen penalty, e.g. ``{{"n_power_iterations": 2}}`` for ``vat``;
        ``sklearn_regpen.penalties.PENALTIES[name].option_names()`` lists them. ``set_params``
        (and so a grid) also takes them one by one as ``penalty__<option>``, skorch's style:
        ``GridSearchCV(est, {{"penalty": ["vat"], "penalty__n_power_iterations": [1, 2]}})``.
{task_parameters}

    Attributes
    ----------
{attributes}
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    loss_curve_ : list of float
        Training objective (data loss plus penalty) of each epoch.
    validation_scores_ : list of float or None
        The held-out rows' score per epoch when ``early_stopping``, else None: minus their mean
        {loss} (``scoring="loss"``), or their {score_name} (``scoring=None``; for the
        regressor, minus the mean squared error where the held-out targets are all equal, since
        R^2 is undefined there).
    best_loss_ : float or None
        Lowest training loss, when not ``early_stopping``.
    best_validation_score_ : float or None
        Best validation score, when ``early_stopping``.
    n_iter_ : int
        Epochs run, over all ``fit`` (with ``warm_start``) and ``partial_fit`` calls.
    net_ : skorch.NeuralNet
        The fitted skorch net; ``net_.module_`` is the torch module (with ``n_members > 1``, one
        that averages the members, ``net_.module_.members``).

    Examples
    --------
{examples}
"""


def _net_doc(mlp_doc: str) -> str:
    """The Net estimators' docstring: the MLP estimators', with the module and the optimizer in
    place of ``hidden_layer_sizes`` and ``activation`` (one text for what they share)."""
    intro_start = mlp_doc.index("    A multi-layer perceptron trained")
    intro_end = mlp_doc.index("    Parameters\n")
    params_start = mlp_doc.index("    hidden_layer_sizes :")
    params_end = mlp_doc.index("    penalty : str")
    intro = """    Any network: ``module`` is your ``torch.nn.Module`` subclass (or a callable
    returning a module), built anew at every fit, trained with ``optimizer`` (Adam by default) on
    {loss} plus an input-space penalty. Inputs may be rows ``(n_samples, n_features)`` or images
    and other arrays ``(n_samples, *input_shape)``; every penalty takes its norms over all input
    dimensions. The other parameters are those of the MLP estimators, which are this estimator
    with ``module=MLP``. ``clone``, ``get_params``, ``set_params``, a ``GridSearchCV`` over
    ``module__*`` parameters, and pickle work as for any scikit-learn estimator.

"""
    params = """    module : nn.Module subclass or callable, default=MLP
        The network, called as ``module(**kwargs)`` at every fit (not an instance: a fresh
        module per fit is what makes ``clone`` and searches independent). ``kwargs`` are the
        ``module__<name>`` parameters, plus, when its signature has them and no
        ``module__<name>`` sets them, ``n_features`` (values per input row), ``input_shape``
        (``X.shape[1:]``) and ``n_outputs`` ({outputs}), filled from the data. It must map a
        batch ``(B, *input_shape)`` to ``(B, n_outputs)``. Only training runs it in training mode;
        predictions and every check run it in evaluation mode, without gradient, on a forked
        random generator, and leave each submodule in its mode. BatchNorm and Dropout layers
        work with every penalty: in a training step, BatchNorm normalises every pass of the
        penalty by the statistics of the clean batch (its running statistics are updated once
        per step, from that batch), so each row's derivatives are those of the network with
        that normalisation; dropout draws one mask per pass, and the Jacobian penalties
        differentiate the pass with its mask. A module whose outputs do not fit ``y``, or that
        cannot take X's rows, is refused with a ``ValueError`` naming both shapes before any
        training.
    module__<name> : any
        Arguments of ``module``, routed as in skorch: ``module__channels=16``; searchable with
        ``GridSearchCV(est, {{"module__channels": [8, 16]}})``. A value holding a torch module
        (``module__backbone=bb``) is deep-copied at every fit: the fit trains its own copy, and
        ``bb`` is left as it was.
    optimizer : torch.optim.Optimizer subclass, default=torch.optim.Adam
        Built at every fit (a ``warm_start`` fit included) with the module's parameters,
        ``lr=learning_rate_init`` and the ``optimizer__<name>`` parameters; ``partial_fit``
        keeps the optimizer's state unless these changed. Adam is fused, as for the MLP
        estimators, unless an ``optimizer__`` parameter says how to run it. ``optimizer__lr`` is
        refused (the rate is ``learning_rate_init``), and so is ``optimizer__weight_decay`` for
        Adam and SGD (their coupled decay is ``penalty="l2"``; use ``torch.optim.AdamW`` for
        decoupled decay).
    optimizer__<name> : any
        Arguments of ``optimizer``: ``optimizer__momentum=0.9`` with ``torch.optim.SGD``.
"""
    doc = mlp_doc[:intro_start] + intro + mlp_doc[intro_end:params_start] + params
    doc += mlp_doc[params_end:]
    features = "    n_features_in_ : int\n        Number of input features.\n"
    assert features in doc
    return doc.replace(features, """    n_features_in_ : int
        ``X.shape[1]``, scikit-learn's convention: the features of a row, or the channels of an
        image ``(n, channels, height, width)``; predict checks the whole row shape.
""")


NET_DOC = _net_doc(ESTIMATOR_DOC)


#: ``learning_rate_init`` of the Net estimators (a float: the module's depth is not known) ...
NET_RATE_DOC = """    learning_rate_init : float, default=3e-3
        The optimizer's learning rate (the peak of ``learning_rate``'s schedule). Three times
        scikit-learn's default: with Adam, on ten KEEL tables, it was as accurate as 1e-3
        (within 0.2 points) in 227 epochs on average against 398 (user guide, "Defaults and
        why").
"""
#: ... and of the MLP estimators, where ``"auto"`` reads the depth of the network
MLP_RATE_DOC = """    learning_rate_init : float or "auto", default="auto"
        The optimizer's learning rate (the peak of ``learning_rate``'s schedule). ``"auto"``:
        3e-3, or 1e-3 for a network of two or more hidden layers on image-like inputs (512
        features or more), and says which with ``verbose``. 3e-3 is three times scikit-learn's
        default: with Adam, on ten KEEL tables, it was as accurate as 1e-3 (within 0.2 points)
        in 227 epochs on average against 398 (user guide, "Defaults and why"). On MNIST (tanh
        layers of 1000, 30 epochs of the cosine decay, each penalty's best setting), two hidden
        layers reached a validation error as low or lower at 1e-3 than at 3e-3 for all seven
        penalties tried (up to 1.4 points lower, for ``noisy_jacobian``), while one hidden
        layer was better at 3e-3 for six of them (user guide, "Training recipe").
"""
#: the defaults where the estimators differ, for their docstrings: scikit-learn's stopping rule
#: for the Net estimators; the MLP estimators' were chosen on tables (below)
NET_DEFAULTS = {"hidden_default": "(100,)", "hidden_note": "", "alpha_default": "1e-4",
                "n_iter_no_change": "10", "early_stopping": "False", "stopping_note": "",
                "learning_rate_init_doc": NET_RATE_DOC}  # fmt: skip
_MLP_STOPPING_NOTE = """
        The MLP estimators' defaults, ``early_stopping=True`` with ``n_iter_no_change=30`` and
        ``scoring="loss"`` (scikit-learn's are False and 10, on the accuracy or R^2), were chosen
        on tables and checked on others that no choice looked at (user guide, "Defaults and
        why").
        {figures}
        Set ``early_stopping=False`` to train on every row."""
_REGRESSOR_FIGURES = """On 10 regression tables held out from the choice: a mean R^2 of 0.45
        against 0.35 with scikit-learn's ``early_stopping`` and ``n_iter_no_change``."""
_CLASSIFIER_FIGURES = """With ``alpha=0.1``, on 20 classification tables held out from the
        choice: a mean accuracy of 0.869 against 0.866 with scikit-learn's ``early_stopping``,
        ``n_iter_no_change`` and ``alpha``, at three quarters of the CPU time; 1.1 points ahead
        on the 20 tables of the choice."""
_REGRESSOR_HIDDEN_NOTE = """ scikit-learn's ``MLPRegressor`` has one layer of 100; two
        layers of 256 with ``alpha=0.1``, chosen on 9 regression tables, raised the mean R^2 on
        10 others held out from the choice from 0.447 to 0.457 (paired SE 0.005), at about
        twice the CPU time (user guide, "Defaults and why")."""
REGRESSOR_DEFAULTS = {
    "hidden_default": "(256, 256)",
    "hidden_note": _REGRESSOR_HIDDEN_NOTE,
    "alpha_default": "0.1",
    "n_iter_no_change": "30",
    "early_stopping": "True",
    "stopping_note": _MLP_STOPPING_NOTE.format(figures=_REGRESSOR_FIGURES),
    "learning_rate_init_doc": MLP_RATE_DOC,
}
CLASSIFIER_DEFAULTS = {
    "hidden_default": "(100,)",
    "hidden_note": "",
    "alpha_default": "0.1",
    "n_iter_no_change": "30",
    "early_stopping": "True",
    "stopping_note": _MLP_STOPPING_NOTE.format(figures=_CLASSIFIER_FIGURES),
    "learning_rate_init_doc": MLP_RATE_DOC,
}


#: the classifiers' ``class_weight`` parameter (MLP and Net), for their docstrings
CLASS_WEIGHT_DOC = """    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, as scikit-learn defines them
        (``sklearn.utils.class_weight.compute_class_weight``): a dict ``{label: weight}`` (classes
        not in it weigh 1), or ``"balanced"``, ``n / (n_classes * n_c)`` for a class of ``n_c``
        of the ``n`` labelled rows of the ``y`` given to ``fit``. Each row's class weight
        multiplies its ``sample_weight``, so it weights the data loss, the penalty's term and the
        early-stopping score (with ``"balanced"``, a balanced accuracy). Unlabelled rows weigh 1.
        ``partial_fit`` takes a dict only (its batches do not show the class frequencies)."""

#: the regressors' ``normalize_y`` parameter (MLP and Net), for their docstrings
NORMALIZE_Y_DOC = """    normalize_y : bool, default=True
        Standardize the targets inside ``fit`` (subtract the mean, divide by the standard
        deviation, per output, weighted by ``sample_weight`` when given; a constant target keeps
        scale 1) and invert at ``predict``, so that the fit, and R^2, do not depend on the units
        of ``y`` (the name is scikit-learn's ``GaussianProcessRegressor``'s; pytabkit calls it
        ``normalize_output``). The network, the data loss (half the squared error), the penalty's
        term, ``loss_curve_`` and the early-stopping split all work in standardized units;
        ``epsilon`` is an input-space size and does not change meaning, while ``alpha`` is
        relative to a target of unit variance. Continuing fits (``warm_start``, ``partial_fit``)
        keep the first fit's scaling. False trains on ``y`` as given, as scikit-learn's
        ``MLPRegressor`` does."""

#: what ``alpha`` means with standardized targets (the regressors)
NORMALIZED_ALPHA_DOC = """
        With ``normalize_y=True`` (the default) the data loss and the output-space penalties
        (``jacobian``, ``c2c``, ``c2c_adversarial``, ``vat``, ``double_backprop``, ...) are
        measured on standardized targets: ``alpha`` weighs them in units of the target's
        standard deviation, so a value means the same whatever the units of ``y``."""

#: scikit-learn's MLP attributes, which the MLP estimators read from their module
MLP_ATTRIBUTES_DOC = """
    coefs_ : list of ndarray
        ``coefs_[i]``, of shape ``(fan_in, fan_out)``, the weights from layer ``i`` to layer
        ``i + 1``, as in scikit-learn's MLP: the module's ``nn.Linear`` weights, transposed (on
        the CPU they share its memory, so changing them changes the model).
    intercepts_ : list of ndarray
        ``intercepts_[i]``, of shape ``(fan_out,)``, the bias of layer ``i + 1``.
    n_layers_ : int
        Number of layers, input and output included: ``len(hidden_layer_sizes) + 2``.
    out_activation_ : str
        The output layer's function: {out_activation}.
    loss_ : float
        Training loss (data loss plus penalty, the mean over the epoch's rows) of the epoch whose
        weights the model holds: the best epoch of the last ``fit`` (scikit-learn's MLP keeps the
        last epoch's), or the last of ``partial_fit``.
    t_ : int
        Training rows the optimizer has seen, over every epoch of every continued fit: ``n_iter_``
        times the training rows (without the ``early_stopping`` rows held out)."""
