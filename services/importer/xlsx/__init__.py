"""Reading an uploaded .xlsx file safely: the zip package, its XML parts, one sheet's rows.

Written for hostile input rather than on top of a general spreadsheet library: sizes are checked
before anything is unpacked and counted while it is, every XML part goes through defusedxml's
expat driver (no DTDs, entities or external references), rows are streamed in the sheet's own
order whatever its `dimension` claims, and a formula cell keeps the fact that it has no stored
value, which openpyxl's `data_only` mode and python-calamine both turn into an empty cell.
"""

from .package import Limits, Package, Refused
from .workbook import Workbook, open_workbook

__all__ = ["Limits", "Package", "Refused", "Workbook", "open_workbook"]
