"""mmyolo-vis: see what a YOLO-family detector sees (feature maps, box-level CAMs, sliced inference)."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(*names):
    """The pins live in requirements/*.txt; tools/setup.sh reads the same files."""
    reqs = []
    for name in names:
        for line in (HERE / 'requirements' / name).read_text().splitlines():
            line = line.split('#', 1)[0].strip()
            if line:
                reqs.append(line)
    return reqs


setup(
    name='mmyolo-vis',
    version='0.1.0',
    description='Command-line tools that show what a YOLO-family detector sees',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8') if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmyolo_vis', 'mmyolo_vis.*']),
    python_requires='>=3.11',
    install_requires=read_requirements('torch.txt', 'mmcv.txt', 'runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
)
