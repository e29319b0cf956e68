"""Load the business's own orders from a CSV file into the order database.

    python -m tools.import_orders orders.csv        (or: make import-orders CSV=orders.csv)

The columns and the checks are described in shop/import_orders.py; nothing is loaded unless every row is right.
"""

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from sqlalchemy.exc import SQLAlchemyError

from shop.db import ShopUnavailable
from shop.import_orders import OrderFileError, import_file
from stack import components


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, help="CSV file, one row per order line")
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: DATABASE_URL)")
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        print(f"{args.csv}: no such file", file=sys.stderr)
        return 2
    url = args.database_url or components.database_url()
    try:
        created, replaced = import_file(args.csv, url)
    except OrderFileError as exc:
        print(f"{args.csv}: nothing was loaded, fix these lines first:", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(f"{args.csv}: nothing was loaded, the file is not UTF-8 text ({exc})", file=sys.stderr)
        return 1
    except (ShopUnavailable, SQLAlchemyError) as exc:
        print(f"nothing was loaded: {exc}", file=sys.stderr)
        return 1
    print(f"{args.csv}: {created} order(s) added, {replaced} replaced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
