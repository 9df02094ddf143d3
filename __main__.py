"""pgpitr: PostgreSQL on Kubernetes with point-in-time recovery through WAL-G.

Thin on purpose: read and validate the stack config, build, export.
"""

from components.stack import build
from components.stack_config import load_settings

build(load_settings()).export()
