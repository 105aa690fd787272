# SPDX-License-Identifier: GPL-2.0-only
#
# Sphinx configuration of the irqbypass documentation.  scripts/docs.sh
# ("make docs") renders it with the kernel-doc extension of a kernel tree,
# as "make htmldocs" does inside one: IRQBYPASS_KTREE names that tree
# (docs.sh sets it to the Debian linux-source-6.12 tree under .cache/).

import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(here)
ktree = os.environ.get('IRQBYPASS_KTREE',
                       os.path.join(repo, '.cache', 'linux-6.12'))
if not os.path.isfile(os.path.join(ktree, 'scripts', 'kernel-doc')):
    sys.exit('no kernel tree in %s: set IRQBYPASS_KTREE' % ktree)
sys.path.insert(0, os.path.join(ktree, 'Documentation', 'sphinx'))


def package_version():
    """PACKAGE_VERSION from dkms.conf, plus the commit if there is one."""
    version = 'unreleased'
    try:
        with open(os.path.join(repo, 'dkms.conf')) as f:
            for line in f:
                if line.startswith('PACKAGE_VERSION='):
                    version = line.split('=', 1)[1].strip().strip('"')
    except OSError:
        pass
    try:
        rev = subprocess.run(['git', '-C', repo, 'describe', '--always',
                              '--dirty'], capture_output=True, text=True,
                             check=True).stdout.strip()
        if rev:
            version += ' (%s)' % rev
    except (OSError, subprocess.CalledProcessError):
        pass
    return version


project = 'irqbypass'
author = 'The irqbypass authors'
copyright = 'The irqbypass authors; GPL-2.0-only'
release = version = package_version()

# The kernel tree's own extensions: kernel-doc comments pulled from the
# sources, and function() / struct name references turned into links.
extensions = ['kerneldoc', 'automarkup']
kerneldoc_bin = os.path.join(ktree, 'scripts', 'kernel-doc')
kerneldoc_srctree = repo
kerneldoc_verbosity = 1

# Attributes the C domain must not take for identifiers (as in the
# kernel's Documentation/conf.py).
c_id_attributes = ['__user', '__iomem', '__rcu', '__percpu', '__force',
                   '__must_check', '__init', '__exit', '__always_inline']

primary_domain = 'c'
highlight_language = 'none'
source_suffix = '.rst'
master_doc = 'index'
exclude_patterns = ['output', '_build']
pygments_style = 'sphinx'

try:
    import sphinx_rtd_theme  # noqa: F401
    html_theme = 'sphinx_rtd_theme'
except ImportError:
    html_theme = 'alabaster'
html_title = 'IRQ bypass manager'
html_static_path = ['sphinx-static']
html_css_files = ['irqbypass.css']
html_show_sourcelink = False
