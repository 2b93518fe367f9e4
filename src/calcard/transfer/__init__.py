"""Moving data in and out: importing .ics/.vcf files into a collection, exporting
a collection as one file, and imports that run as background jobs.
"""
