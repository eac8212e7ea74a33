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

"""The ironic-lite API reference (os-api-ref).

Build it with ``tox -e api-ref``, or
``sphinx-build -W -b html api-ref/source api-ref/build/html``.
The samples in samples/ are written by ``tools/api_samples.py`` from live
responses; do not edit them by hand.
"""

extensions = [
    'os_api_ref',
    'openstackdocstheme',
]

project = 'ironic-lite API Reference'
copyright = 'The ironic-lite developers'

html_theme = 'openstackdocs'
html_theme_options = {
    'sidebar_mode': 'toc',
}

# openstackdocstheme: this is not an OpenStack project, so no bug links or
# release names taken from OpenStack's infrastructure.
openstackdocs_repo_name = 'ironic-lite/ironic-lite'
openstackdocs_auto_name = False
openstackdocs_use_storyboard = False
openstackdocs_bug_project = 'ironic-lite'
openstackdocs_bug_tag = 'api-ref'

master_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
exclude_patterns = ['samples/*.inc']
pygments_style = 'native'
add_module_names = False
show_authors = False
