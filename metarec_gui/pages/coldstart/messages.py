"""The Cold-start page's status line and banner (a mixin: the page has ``status``, ``banner``
and ``state``)."""

from __future__ import annotations

from ...theme import theme


class MessagesMixin:
    """Status text beside the run picker; a banner above the tabs for notes and warnings."""

    def _profile_message(self, text: str, level: str) -> None:
        if level == "saved":  # the timed end of a "Saved profile" note
            if self.banner.text().startswith("Saved profile"):
                self._set_banner("")
            return
        self._set_banner(text, level)

    def _background_failed(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"
        self._set_status(message, "error")
        self.state.log(f"Cold-start: {message}", "error")

    def _set_status(self, html: str, level: str = "info") -> None:
        color = theme().level_color(level) if level != "info" else theme().muted()
        self.status.setText(f"<span style='color:{color}'>{html}</span>")

    def _set_banner(self, text: str, level: str = "info") -> None:
        self.banner.setVisible(bool(text))
        self.banner.setText(text)
        self.banner.setStyleSheet(f"QLabel {{ color: {theme().level_color(level)}; padding: 6px; }}")
