"""What the browser tests share: the researcher's password and logging in through the admin's own form."""

PASSWORD = "a long browser test password 42"


def log_in(page, base: str, username: str = "researcher") -> None:
    """Log in on the admin's login page and wait for the dashboard."""
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/admin/")
