"""timecard: the Amazon Connect Login/Logout report, rebuilt from the agent event stream."""

__version__ = "0.1.0"
