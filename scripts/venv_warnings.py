"""Warning filters of mocha-cloud's controller venv (.venv), imported at every start of its Python through a .pth
file that ./scripts/setup writes beside this copy. Each filter names one warning by its category, the module it is
reported from and its message: nothing broader is silenced, so every other warning still reaches the user.

- cryptography 51 deprecates DSA (hazmat/primitives/asymmetric/dsa.py) and warns when ansible-core imports its SSH agent support
  (ansible/_internal/_ssh/_ssh_agent.py), at every start of every ansible command. The user cannot act on it
  (ansible-core imports the DSA key type whether or not a DSA key is ever used).
"""

import warnings

try:
    from cryptography.utils import CryptographyDeprecationWarning
except ImportError:  # no cryptography in this interpreter: nothing to silence
    pass
else:
    warnings.filterwarnings(
        "ignore", message="DSA is deprecated", category=CryptographyDeprecationWarning, module=r"ansible\._internal\._ssh\._ssh_agent"
    )
