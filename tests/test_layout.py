"""The package's layout and layering, read from the source with ``ast``: a change that breaks them fails here.

Levels (a package imports only from packages of a lower level, and from itself):
0 core; 1 cam, models; 2 vis; 3 featmaps, detection, classification, large, datasets, engine; 4 apps, hooks.
"""
import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / 'mmyolo_vis'
LEVELS = {'core': 0, 'cam': 1, 'models': 1, 'vis': 2, 'featmaps': 3, 'detection': 3, 'classification': 3,
          'large': 3, 'datasets': 3, 'engine': 3, 'apps': 4, 'hooks': 4}
FORBIDDEN = {  # the rules said by name, over and above the levels
    'classification': {'detection'},
    'cam': {'detection', 'classification', 'apps'},
    'core': set(LEVELS) - {'core'},
}


def modules():
    return sorted(p for p in PACKAGE.rglob('*.py') if '__pycache__' not in p.parts)


def imported_packages(path: Path, root: Path = PACKAGE) -> set[str]:
    """The subpackages of mmyolo_vis a module (under ``root``, the package folder) imports, at the top or
    inside functions, relative imports resolved against the module's own package."""
    own = path.relative_to(root).parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(own[:len(own) - (node.level - 1)]) if node.level - 1 <= len(own) else None
                assert base is not None, f'{path}: relative import above the package'
                target = base + (node.module.split('.') if node.module else [])
                if not target:  # from .. import x: x are subpackages
                    names = [[a.name] for a in node.names]
                else:
                    names = [target] if node.module else [target + [a.name] for a in node.names]
            elif node.module and node.module.split('.')[0] == 'mmyolo_vis':
                names = [node.module.split('.')[1:] or [a.name for a in node.names][:1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split('.')[1:] for a in node.names if a.name.split('.')[0] == 'mmyolo_vis']
        for parts in names:
            if parts:
                found.add(parts[0])
    return found


def test_the_package_is_folders_over_a_core():
    top = [p.name for p in PACKAGE.glob('*.py')]
    assert top == ['__init__.py']
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / '__init__.py').is_file())
    assert folders == sorted(LEVELS)
    assert len(folders) >= 6
    for folder in folders:  # empty: imports stay lazy (--help stays fast), nothing is re-exported
        assert (PACKAGE / folder / '__init__.py').read_text() == '', folder


@pytest.mark.parametrize('path', modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    parts = path.relative_to(PACKAGE).parts
    if len(parts) == 1:
        assert imported_packages(path) == set()
        return
    own = parts[0]
    for other in imported_packages(path) - {own}:
        assert other in LEVELS, f'{path}: imports mmyolo_vis.{other}, which is not a package of the layout'
        assert LEVELS[other] < LEVELS[own], \
            f'{path}: {own} (level {LEVELS[own]}) imports {other} (level {LEVELS[other]}): upward or sideways'
        assert other not in FORBIDDEN.get(own, ()), f'{path}: {own} must not import {other}'


def test_the_reader_sees_every_import_form(tmp_path):
    """Relative (one and two dots, ``from .. import x``), absolute, and inside a function."""
    probe = tmp_path / 'classification' / 'probe.py'
    probe.parent.mkdir()
    probe.write_text('from ..detection.boxam import BoxAM\nfrom .. import apps\nimport mmyolo_vis.large.sliced\n\n'
                     'def f():\n    from mmyolo_vis.engine import schedule\n    from .cam import ClassifierCAM\n')
    assert imported_packages(probe, tmp_path) == {'detection', 'apps', 'large', 'engine', 'classification'}


SCRIPTS = sorted([*ROOT.glob('demo/*.py'), *ROOT.glob('tools/**/*.py')])


@pytest.mark.parametrize('script', SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_script_is_a_thin_front(script):
    """A script imports its tool from mmyolo_vis.apps and runs it: no function, class or argument parsing."""
    tree = ast.parse(script.read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    modules_ = {n.module for n in imports if isinstance(n, ast.ImportFrom)} | \
        {a.name for n in imports if isinstance(n, ast.Import) for a in n.names}
    assert modules_ - {'sys'} and all(m == 'sys' or m.startswith('mmyolo_vis.apps.') for m in modules_), modules_
