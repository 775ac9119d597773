"""Silence warnings a user of these tools cannot act on (they come from inside the libraries)."""
import contextlib
import logging
import warnings

_done = False


def silence_library_noise():
    global _done
    if _done:
        return
    _done = True
    for pattern in (
            r'.*torch\.meshgrid.*',  # mmdet's prior generators
            r'.*__floordiv__.*',
            r'.*The `clip` function.*',
            r'.*Failed to add .*LocalVisBackend.*',
            r'.*is deprecated.*',
            r'.*pkg_resources.*',
            r'.*TypedStorage.*',
            r'.*No module named .*mmcv\._ext.*',
    ):
        warnings.filterwarnings('ignore', message=pattern)
    warnings.filterwarnings('ignore', category=UserWarning, module=r'mm(engine|det|yolo|cv)\..*')
    warnings.filterwarnings('ignore', category=DeprecationWarning)
    warnings.filterwarnings('ignore', category=FutureWarning)
    # mmengine's MMLogger prints INFO lines about scopes and visualizers; keep warnings.
    logging.getLogger('mmengine').setLevel(logging.WARNING)
    from mmengine.logging import MMLogger  # the instance print_log(..., 'current') writes to
    MMLogger.get_current_instance().setLevel(logging.WARNING)


class _NoScopeSwitchNote(logging.Filter):
    def filter(self, record):
        return not str(record.msg).startswith('The current default scope')


@contextlib.contextmanager
def scope_switch_unsaid():
    """A block in which mmengine's ``init_default_scope`` switches the registry scope without its warning: a
    process that builds models of two packages (a detector, then a classifier) switches on purpose."""
    from mmengine.logging import MMLogger
    logger, note = MMLogger.get_current_instance(), _NoScopeSwitchNote()
    logger.addFilter(note)
    try:
        yield
    finally:
        logger.removeFilter(note)
