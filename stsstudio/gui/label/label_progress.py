"""The labelling view's progress: a bar, the labeled share, and this sitting's pace."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from stsstudio.gui.common import style
from stsstudio.gui.common.widgets import mute


def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours // 24} days"


class LabelProgress(QWidget):
    """How far the labelling is, and how fast it goes this sitting."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.progress.setStyleSheet(style.sheet(_PROGRESS_STYLE))
        self.progress_label = QLabel()
        self.progress_label.setObjectName("progressText")
        mute(self.progress_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_label)

    def show_progress(self, total: int, labeled: int, split: str | None,
                      sitting: list[float]) -> None:
        """``sitting``: the times of this sitting's confirmed labels."""
        labeled = min(labeled, total)
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(labeled)
        if total == 0:
            self.progress_label.setText("")
            return
        where = f" in {split}" if split else ""
        parts = [f"{labeled:,} of {total:,} labeled{where} ({100 * labeled / total:.0f} %)"]
        n = len(sitting)
        if n >= 2:
            elapsed = max(sitting[-1] - sitting[0], 1.0)
            if elapsed >= 20:
                rate = (n - 1) / elapsed * 3600
                parts.append(f"{rate:,.0f} labels/h this sitting")
                left = total - labeled
                if left > 0 and rate > 0:
                    parts.append(f"about {_duration(left / rate * 3600)} left")
        if n and len(parts) == 1:
            parts.append(f"{n} label{'s' if n != 1 else ''} this sitting")
        self.progress_label.setText("  ·  ".join(parts))


_PROGRESS_STYLE = """
QProgressBar { border: none; background: $track; border-radius: 4px; }
QProgressBar::chunk { background: $accent; border-radius: 4px; }
"""
