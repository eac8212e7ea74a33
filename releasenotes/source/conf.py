# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The ironic-lite release notes (reno).

Build them with ``tox -e releasenotes``, or
``sphinx-build -W -b html releasenotes/source releasenotes/build/html``;
``reno report`` prints them as text. Add a note with
``reno new <slug>``.
"""

extensions = [
    'reno.sphinxext',
]

project = 'ironic-lite Release Notes'
copyright = 'The ironic-lite developers'

master_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
exclude_patterns = []
html_theme = 'alabaster'
pygments_style = 'sphinx'
