"""Importing a planner's file into a layer: read, recognise CRS and text encoding, map fields, check every feature.

`read_import` is a pure function: it reads the file (unpacking a zip into a private temporary folder that it
removes), and returns the features in OGC:CRS84 ready for the layer together with an `ImportReport` a planner can
read — which CRS and encoding were used and why, how fields were mapped, and every problem per feature
(1-based, in source order).  Nothing is written anywhere else and nothing is dropped silently: a feature is either
in the returned frame or listed in the report with an error.  A file that cannot be imported at all raises
`ImportRefused` with the reason in English and Vietnamese and a machine-readable `code`.  Writing the frame as a
revision of the layer is the service layer's job.

Formats: Shapefile (zip), GeoPackage, KML/KMZ, DXF, MicroStation DGN (v7), MapInfo TAB (zip) and MIF, GeoJSON,
CSV with coordinate columns (lon/lat, x/y, kinh_do/vi_do) or a WKT column.

The import runs as stages over one `ImportContext` (context.py), in this order (pipeline.py):

* locate.py — size limit, format sniffed from the content, zip unpacked, the one dataset in it and its sidecars;
* read.py — the dataset read with GDAL (or the CSV reader) into one frame, and the CRS the file names;
* text.py — text and field names decoded to Unicode, legacy Vietnamese encodings (encodings.py) recognised;
* geometry.py — empty, wrong-type and invalid geometries rejected, repaired or fitted to the layer's type;
* crs.py — the CRS declared, the file's or assumed from the coordinates (VN-2000 / TM-3 without a .prj, axis
  swap), sanity-checked, and the transformation to CRS84 with features outside Vietnam or the province flagged;
* fields.py — source fields mapped to the layer's (Vietnamese synonyms), values converted (values.py), every
  feature's `source` and `accuracy`;
* rules.py — the layer's rules for written features (layers/validation.py): required fields, text length, dates;
* pipeline.py — `read_import`, running the stages and assembling the frame and the report (report.py).
"""

from layers.importing.errors import ImportRefused
from layers.importing.formats import FORMATS
from layers.importing.pipeline import read_import
from layers.importing.report import ImportReport
from layers.provenance import ACCURACY as ACCURACY_VALUES

__all__ = ["ACCURACY_VALUES", "FORMATS", "ImportRefused", "ImportReport", "read_import"]
