"""The HTML pages: rendering (`render`), sign-in and sign-out (`login`), the boards (`boards`),
the admin pages (`admin`) and the audit view's formatting (`audit_view`).

May import what `whiteboard.web` may; pages share helpers through `render`, never through each other.
"""
