"""The patient side of the API: what a patient reaches with a signed link, no password.

Every route here is under ``/api/p/{token}`` and authorizes by the link alone (its
purpose, expiry and single use: :mod:`needlewise.web.auth`). Staff create and revoke the
links with :mod:`needlewise.web.api.links`; the stored link is
:mod:`needlewise.services.links`.

* :mod:`.about_link` — ``GET /api/p/{token}``: what the link is for;
* :mod:`.forms` — the intake questionnaire and the consent to sign;
* :mod:`.check_in` — the after-treatment check-in (a lean, hot route).
"""
