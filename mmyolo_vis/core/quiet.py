"""Silence warnings a user of these tools cannot act on (they come from inside the libraries)."""
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
