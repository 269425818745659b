"""Read a submitted HTML form and refuse what no browser form of ours sends: files in text
fields, invalid UTF-8 and NUL characters.

Starlette decodes URL-encoded form fields with ``errors="replace"``: bytes that are not UTF-8
become U+FFFD and would be stored as ``���``. No field of ours legitimately contains U+FFFD, so
its presence after decoding is the signal that the body was not valid UTF-8. (Multipart text
parts that are not UTF-8 Starlette decodes as Latin-1 instead; those arrive as readable if wrong
characters and then meet the same checks as any other text.) Reading the raw body instead is not
possible here: the CSRF check has already consumed it through ``request.form()``, whose result
Starlette caches.
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from korona.errors import N_, InvalidInput
from korona.validation import REPLACEMENT_CHARACTER

#: How much of a field's name an error message repeats.
SHOWN_NAME = 40


async def read_form(request: Request, *, files: Collection[str] = ()) -> FormData:
    """Return the request's form; raise InvalidInput (422) if a field is not clean text.

    ``files`` names the fields that may carry uploaded files; a file in any other field is
    refused, as is a field (name or value) that was not valid UTF-8 or that holds a NUL.
    """
    form = await request.form()
    for key, value in form.multi_items():
        name = key[:SHOWN_NAME]
        if REPLACEMENT_CHARACTER in key:
            raise InvalidInput(N_("The form was not sent as valid UTF-8 text"))
        if isinstance(value, UploadFile):
            if key not in files:
                raise InvalidInput(
                    N_("The field {name} must be text, not a file"), field=name, name=name
                )
            continue
        if REPLACEMENT_CHARACTER in value:
            raise InvalidInput(N_("The form was not sent as valid UTF-8 text"), field=name)
        if "\x00" in value:
            raise InvalidInput(
                N_("The field {name} contains a NUL character"), field=name, name=name
            )
    return form
