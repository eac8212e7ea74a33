"""The fast masking of stored documents answers byte for byte what oslo's
``strutils.mask_dict_password`` (and the ``secret_key`` rule) answers,
over many generated documents."""

import json
import random

import fixtures
import orjson
import testtools
from oslo_utils import strutils

from ironic_lite.api.controllers.v1 import render

SECRET = '******'

# Keys: secret names in odd case, names that only hold a secret name, ones
# that only lower() makes secret (the Kelvin sign lowers to k), others.
KEYS = ['ipmi_password', 'IPMI_Password', 'Auth_Token', 'to\u212aen',
        'secretary', 'tokens', 'ssh_key_contents', 'SSH_KEY_CONTENTS',
        'image_url', 'ipmi_address', 'ipmi_username', 'x', 'caf\u00e9',
        '\u0130d', 'configdrive', 'CHAPPASSWORD', 'passphrase', 'pass',
        'word', 'deploy_kernel', 'key', 'fernetkey', '', 'a"b', 'back\\']
# Strings: what mask_password's expressions take, and what they leave.
STRINGS = ['hello', 'password=abc', '--password x', "'adminPass': 'a'",
           '"password": "p"', 'token: t', 'auth_token=x y', 'P\u0130ssword',
           'secret', 'sEcReT_uuid=1', '<password>x</password>',
           'admin_pass 1', 'caf\u00e9', '\u00e9\u00e9', 'http://x/img',
           'a\nb', 'tab\there', 'x\\token', 'line\u2028sep', '',
           '{"password": "p"}', 'chapsecret: s', 'sys_pswd=1']
NUMBERS = [0, 1, -1, 7, 2 ** 31, 2 ** 63 - 1, 2 ** 63, 2 ** 64 - 1, 2 ** 64,
           -2 ** 63, -2 ** 63 - 1, 2 ** 70, -2 ** 70, 0.1, -0.0, 2.5,
           1e300, -1e-300, 1.5e19, 9.3e18, 2.0 ** 63, 12345678901234567890.0]


def _value(rng: random.Random, depth: int):
    choice = rng.random()
    if depth < 4 and choice < 0.15:
        return _document(rng, depth + 1)
    if depth < 4 and choice < 0.25:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if choice < 0.6:
        return rng.choice(STRINGS)
    if choice < 0.85:
        return rng.choice(NUMBERS)
    return rng.choice([True, False, None])


def _document(rng: random.Random, depth: int = 0) -> dict:
    return {rng.choice(KEYS): _value(rng, depth)
            for _ in range(rng.randrange(6))}


def _texts(count: int):
    """Documents as stored: as json.dumps writes them (escaped or not),
    and a few json reads though orjson does not."""
    rng = random.Random(20261202)
    for i in range(count):
        document = _document(rng)
        yield json.dumps(document, ensure_ascii=bool(i % 3))
    for extra in ('NaN', 'Infinity', '-Infinity', '1e400', '"\\ud800"'):
        yield '{"ipmi_password": "p", "n": %s, "k": [%s]}' % (extra, extra)
    yield '{"password": "a", "x": 1, "password": "b"}'


def _as_before(masked: render.Masked, text: str) -> bytes:
    """What rendering answered before: the stored text when it names no
    secret, else oslo's masking of json's decoding, encoded by orjson
    (json where orjson cannot)."""
    lowered = text.lower()
    if '\\u' not in text and not any(
            name in lowered for name in tuple(strutils._SANITIZE_KEYS)
            + (masked.secret_key,)):
        return text.encode()
    document = strutils.mask_dict_password(json.loads(text), SECRET)
    if document.get(masked.secret_key):
        document[masked.secret_key] = SECRET
    try:
        return orjson.dumps(document)
    except TypeError:
        return json.dumps(document).encode()


class TestMasking(testtools.TestCase):

    def test_masked_text_is_oslos_masking(self):
        for secret_key in ('ssh_key_contents', 'image_url'):
            masked = render.Masked(secret_key)
            shown = masked.text_for(None)
            for text in _texts(3000):
                self.assertEqual(_as_before(masked, text),
                                 orjson.dumps(shown(text)), text)

    def test_mask_secrets_is_mask_dict_password(self):
        rng = random.Random(7)
        for _ in range(3000):
            document = _document(rng)
            try:
                fast = render.mask_secrets(document)
            except render.Inexact:
                continue
            self.assertEqual(
                strutils.mask_dict_password(document, SECRET), fast)

    def test_large_numbers_stay_exact(self):
        masked = render.Masked('ssh_key_contents')
        text = json.dumps({'password': 'p', 'n': 2 ** 70,
                           'm': -2 ** 63 - 1, 'f': 2.0 ** 64})
        self.assertEqual(
            {'password': SECRET, 'n': 2 ** 70, 'm': -2 ** 63 - 1,
             'f': 2.0 ** 64},
            json.loads(orjson.dumps(masked.text_for(None)(text))))

    def test_the_policy_is_asked_once_a_document_names_a_secret(self):
        asked = []

        def check_once(request, rule):
            asked.append(rule)
            return request == 'may see'
        self.useFixture(fixtures.MonkeyPatch(
            'ironic_lite.api.policy.check_once', check_once))
        masked = render.Masked('image_url', 'show_instance_secrets')
        for request, shown in (('may see', '{"image_url": "i"}'),
                               ('may not', '{"image_url":"******"}')):
            asked.clear()
            text = masked.text_for(request)
            for _ in range(3):
                self.assertEqual(b'{"root_gb": 1}',
                                 orjson.dumps(text('{"root_gb": 1}')))
            self.assertEqual([], asked)
            for _ in range(3):
                self.assertEqual(shown.encode(), orjson.dumps(
                    text('{"image_url": "i"}')))
            self.assertEqual(['show_instance_secrets'], asked)

    def test_the_documents_cover_each_way(self):
        masked = render.Masked('ssh_key_contents')
        texts = list(_texts(3000))
        unchanged = sum(_as_before(masked, text) == text.encode()
                        for text in texts)
        self.assertGreater(unchanged, 300)
        self.assertGreater(len(texts) - unchanged, 1000)
