"""Early-warning rules (流失预警), evaluated after scoring. Being built: see issue 7."""

import datetime as dt


def alerts_evaluate(*, as_of: dt.date, account_ids=None) -> dict:
    return {}
