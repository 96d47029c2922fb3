"""Build the reference catalogue: catalog/products.csv and catalog/service_centres.csv.

Deterministic and stdlib only: the same script always writes byte-identical files.
Usage: python scripts/build_catalog.py [--out DIR]   (default: the repo's catalog/ folder)
"""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import dataclass, replace
from pathlib import Path

FAST_TRACK_COUNT = 120
MIN_ROWS = 3000

# Curated products: sku | name | category | launch_date | base_points | flags | superseded_by | service_end_date
# flags: P = professional product (pro body, L / cine lens, Cinema EOS), eligible for fast track.
CURATED = """
CAM-EOSR1|EOS R1|camera|2024-11-20|400|P||
CAM-EOSR3|EOS R3|camera|2021-11-18|380|P||
CAM-EOSR5|EOS R5|camera|2020-07-30|300|P|CAM-EOSR5M2|
CAM-EOSR5M2|EOS R5 Mark II|camera|2024-08-15|320|P||
CAM-EOSR6|EOS R6|camera|2020-08-27|250|P|CAM-EOSR6M2|
CAM-EOSR6M2|EOS R6 Mark II|camera|2022-12-08|260|P|CAM-EOSR6M3|
CAM-EOSR6M3|EOS R6 Mark III|camera|2025-11-27|270|P||
CAM-EOSR|EOS R|camera|2018-10-25|150||CAM-EOSR6|
CAM-EOSRA|EOS Ra|camera|2019-12-05|150|||2027-12-31
CAM-EOSRP|EOS RP|camera|2019-02-27|120||CAM-EOSR8|
CAM-EOSR7|EOS R7|camera|2022-06-23|150|||
CAM-EOSR8|EOS R8|camera|2023-04-13|140|||
CAM-EOSR10|EOS R10|camera|2022-07-21|90|||
CAM-EOSR50|EOS R50|camera|2023-03-16|70|||
CAM-EOSR50V|EOS R50 V|camera|2025-04-24|60|||
CAM-EOSR100|EOS R100|camera|2023-06-15|50|||
CAM-EOSM50|EOS M50|camera|2018-03-22|60||CAM-EOSM50M2|
CAM-EOSM50M2|EOS M50 Mark II|camera|2020-11-19|65|||
CAM-EOSM6|EOS M6|camera|2017-04-06|70||CAM-EOSM6M2|2026-06-30
CAM-EOSM6M2|EOS M6 Mark II|camera|2019-09-26|85|||
CAM-EOSM100|EOS M100|camera|2017-10-05|45||CAM-EOSM200|2026-06-30
CAM-EOSM200|EOS M200|camera|2019-10-24|45|||
CAM-EOSM5|EOS M5|camera|2016-11-24|90|||2025-12-31
CAM-EOS1DSM3|EOS-1Ds Mark III|camera|2007-11-29|320||CAM-EOS1DX|2019-12-31
CAM-EOS1DM4|EOS-1D Mark IV|camera|2009-12-17|300||CAM-EOS1DX|2021-06-30
CAM-EOS1DX|EOS-1D X|camera|2012-06-20|350|P|CAM-EOS1DXM2|2024-03-31
CAM-EOS1DXM2|EOS-1D X Mark II|camera|2016-04-28|380|P|CAM-EOS1DXM3|
CAM-EOS1DXM3|EOS-1D X Mark III|camera|2020-02-13|400|P||
CAM-EOS5DM2|EOS 5D Mark II|camera|2008-11-27|200||CAM-EOS5DM3|2020-12-31
CAM-EOS5DM3|EOS 5D Mark III|camera|2012-03-22|235|P|CAM-EOS5DM4|
CAM-EOS5DM4|EOS 5D Mark IV|camera|2016-09-08|260|P||
CAM-EOS5DS|EOS 5DS|camera|2015-06-18|260|P||
CAM-EOS5DSR|EOS 5DS R|camera|2015-06-18|270|P||
CAM-EOS6D|EOS 6D|camera|2012-11-29|160||CAM-EOS6DM2|2027-06-30
CAM-EOS6DM2|EOS 6D Mark II|camera|2017-07-27|170|||
CAM-EOS7D|EOS 7D|camera|2009-10-01|150||CAM-EOS7DM2|2021-09-30
CAM-EOS7DM2|EOS 7D Mark II|camera|2014-10-30|180|||
CAM-EOS60D|EOS 60D|camera|2010-09-16|80||CAM-EOS70D|2022-03-31
CAM-EOS70D|EOS 70D|camera|2013-08-29|90||CAM-EOS80D|2027-03-31
CAM-EOS80D|EOS 80D|camera|2016-03-17|100||CAM-EOS90D|
CAM-EOS90D|EOS 90D|camera|2019-09-19|110|||
CAM-EOS750D|EOS 750D|camera|2015-04-23|70||CAM-EOS800D|
CAM-EOS800D|EOS 800D|camera|2017-04-06|75||CAM-EOS850D|
CAM-EOS850D|EOS 850D|camera|2020-04-07|80|||
CAM-EOS100D|EOS 100D|camera|2013-04-23|50||CAM-EOS200D|2022-12-31
CAM-EOS200D|EOS 200D|camera|2017-07-06|55||CAM-EOS250D|
CAM-EOS250D|EOS 250D|camera|2019-04-25|60|||
CAM-EOS1300D|EOS 1300D|camera|2016-04-08|40||CAM-EOS2000D|
CAM-EOS2000D|EOS 2000D|camera|2018-03-20|45|||
CAM-EOS4000D|EOS 4000D|camera|2018-03-20|40|||
LNS-RF2470F28L|RF 24-70mm F2.8 L IS USM|lens|2019-09-26|180|P||
LNS-RF70200F28L|RF 70-200mm F2.8 L IS USM|lens|2019-12-12|190|P|LNS-RF70200F28LZ|
LNS-RF70200F28LZ|RF 70-200mm F2.8 L IS USM Z|lens|2023-12-07|200|P||
LNS-RF70200F4L|RF 70-200mm F4 L IS USM|lens|2021-11-11|140|P||
LNS-RF1535F28L|RF 15-35mm F2.8 L IS USM|lens|2019-09-26|170|P||
LNS-RF1435F4L|RF 14-35mm F4 L IS USM|lens|2021-08-26|150|P||
LNS-RF1020F4L|RF 10-20mm F4 L IS STM|lens|2023-12-14|160|P||
LNS-RF2870F2L|RF 28-70mm F2 L USM|lens|2018-10-25|200|P||
LNS-RF24105F4L|RF 24-105mm F4 L IS USM|lens|2018-10-25|120|P||
LNS-RF24105F28LZ|RF 24-105mm F2.8 L IS USM Z|lens|2023-12-14|200|P||
LNS-RF50F12L|RF 50mm F1.2 L USM|lens|2018-10-25|180|P||
LNS-RF85F12L|RF 85mm F1.2 L USM|lens|2019-06-27|190|P||
LNS-RF85F12LDS|RF 85mm F1.2 L USM DS|lens|2019-12-05|195|P||
LNS-RF135F18L|RF 135mm F1.8 L IS USM|lens|2022-12-08|180|P||
LNS-RF100F28LM|RF 100mm F2.8 L Macro IS USM|lens|2021-07-15|150|P||
LNS-RF35F14LVCM|RF 35mm F1.4 L VCM|lens|2024-06-27|160|P||
LNS-RF50F14LVCM|RF 50mm F1.4 L VCM|lens|2024-11-28|160|P||
LNS-RF24F14LVCM|RF 24mm F1.4 L VCM|lens|2025-04-24|160|P||
LNS-RF20F14LVCM|RF 20mm F1.4 L VCM|lens|2025-04-24|160|P||
LNS-RF52F28LDF|RF 5.2mm F2.8 L Dual Fisheye|lens|2021-12-16|150|P||
LNS-RF100500L|RF 100-500mm F4.5-7.1 L IS USM|lens|2020-09-10|200|P||
LNS-RF100300F28L|RF 100-300mm F2.8 L IS USM|lens|2023-06-15|400|P||
LNS-RF400F28L|RF 400mm F2.8 L IS USM|lens|2021-06-17|480|P||
LNS-RF600F4L|RF 600mm F4 L IS USM|lens|2021-06-17|450|P||
LNS-RF800F56L|RF 800mm F5.6 L IS USM|lens|2021-08-26|500|P||
LNS-RF1200F8L|RF 1200mm F8 L IS USM|lens|2021-08-26|500|P||
LNS-RF50F18|RF 50mm F1.8 STM|lens|2020-12-10|12|||
LNS-RF2450|RF 24-50mm F4.5-6.3 IS STM|lens|2022-11-17|15|||
LNS-RF24105STM|RF 24-105mm F4-7.1 IS STM|lens|2020-08-27|20|||
LNS-RF24240|RF 24-240mm F4-6.3 IS USM|lens|2019-09-12|35|||
LNS-RF2870F28|RF 28-70mm F2.8 IS STM|lens|2024-11-28|35|||
LNS-RF35F18M|RF 35mm F1.8 Macro IS STM|lens|2018-10-25|30|||
LNS-RF85F2M|RF 85mm F2 Macro IS STM|lens|2020-11-26|30|||
LNS-RF16F28|RF 16mm F2.8 STM|lens|2021-10-28|15|||
LNS-RF28F28|RF 28mm F2.8 STM|lens|2023-06-15|15|||
LNS-RF1530|RF 15-30mm F4.5-6.3 IS STM|lens|2022-09-29|25|||
LNS-RF100400|RF 100-400mm F5.6-8 IS USM|lens|2021-07-15|30|||
LNS-RF200800|RF 200-800mm F6.3-9 IS USM|lens|2023-12-14|40|||
LNS-RF600F11|RF 600mm F11 IS STM|lens|2020-08-27|35|||
LNS-RF800F11|RF 800mm F11 IS STM|lens|2020-08-27|40|||
LNS-RFS1845|RF-S 18-45mm F4.5-6.3 IS STM|lens|2022-06-23|12|||
LNS-RFS18150|RF-S 18-150mm F3.5-6.3 IS STM|lens|2022-06-23|25|||
LNS-RFS55210|RF-S 55-210mm F5-7.1 IS STM|lens|2022-10-20|20|||
LNS-RFS1018|RF-S 10-18mm F4.5-6.3 IS STM|lens|2023-04-13|18|||
LNS-RFEXT14|Extender RF 1.4x|lens|2020-09-10|35|||
LNS-RFEXT2|Extender RF 2x|lens|2020-09-10|40|||
LNS-EF2470F28L|EF 24-70mm f/2.8L USM|lens|2002-09-19|150||LNS-EF2470F28L2|2019-12-31
LNS-EF2470F28L2|EF 24-70mm f/2.8L II USM|lens|2012-06-14|170|P||
LNS-EF2470F4L|EF 24-70mm f/4L IS USM|lens|2012-12-13|130|P||
LNS-EF70200F28LIS|EF 70-200mm f/2.8L IS USM|lens|2001-09-20|150||LNS-EF70200F28LIS2|2020-06-30
LNS-EF70200F28LIS2|EF 70-200mm f/2.8L IS II USM|lens|2010-03-25|170|P|LNS-EF70200F28LIS3|
LNS-EF70200F28LIS3|EF 70-200mm f/2.8L IS III USM|lens|2018-08-09|180|P||
LNS-EF70200F4LIS|EF 70-200mm f/4L IS USM|lens|2006-12-07|120||LNS-EF70200F4LIS2|2027-12-31
LNS-EF70200F4LIS2|EF 70-200mm f/4L IS II USM|lens|2018-07-26|130|P||
LNS-EF1635F28L|EF 16-35mm f/2.8L USM|lens|2001-04-12|130||LNS-EF1635F28L2|2018-12-31
LNS-EF1635F28L2|EF 16-35mm f/2.8L II USM|lens|2007-04-19|140||LNS-EF1635F28L3|2027-12-31
LNS-EF1635F28L3|EF 16-35mm f/2.8L III USM|lens|2016-07-21|160|P||
LNS-EF1635F4L|EF 16-35mm f/4L IS USM|lens|2014-06-19|130|P||
LNS-EF1740F4L|EF 17-40mm f/4L USM|lens|2003-05-22|100|P||
LNS-EF1124F4L|EF 11-24mm f/4L USM|lens|2015-02-26|200|P||
LNS-EF815F4L|EF 8-15mm f/4L Fisheye USM|lens|2011-06-16|130|P||
LNS-EF24105F4L|EF 24-105mm f/4L IS USM|lens|2005-10-06|110||LNS-EF24105F4L2|
LNS-EF24105F4L2|EF 24-105mm f/4L IS II USM|lens|2016-11-17|120|P||
LNS-EF100400L|EF 100-400mm f/4.5-5.6L IS USM|lens|1998-11-19|140||LNS-EF100400L2|2021-12-31
LNS-EF100400L2|EF 100-400mm f/4.5-5.6L IS II USM|lens|2014-12-18|170|P||
LNS-EF28300L|EF 28-300mm f/3.5-5.6L IS USM|lens|2004-05-20|150|P||
LNS-EF200400F4L|EF 200-400mm f/4L IS USM Extender 1.4x|lens|2013-05-30|500|P||
LNS-EF300F28L2|EF 300mm f/2.8L IS II USM|lens|2010-12-16|350|P||
LNS-EF300F4L|EF 300mm f/4L IS USM|lens|1997-06-19|150|P||
LNS-EF400F28L|EF 400mm f/2.8L IS USM|lens|1999-09-16|400||LNS-EF400F28L2|2019-06-30
LNS-EF400F28L2|EF 400mm f/2.8L IS II USM|lens|2010-12-16|420|P|LNS-EF400F28L3|
LNS-EF400F28L3|EF 400mm f/2.8L IS III USM|lens|2018-12-13|450|P||
LNS-EF400F4DO2|EF 400mm f/4 DO IS II USM|lens|2014-11-20|350|P||
LNS-EF500F4L2|EF 500mm f/4L IS II USM|lens|2011-06-16|450|P||
LNS-EF600F4L2|EF 600mm f/4L IS II USM|lens|2011-06-16|480|P|LNS-EF600F4L3|
LNS-EF600F4L3|EF 600mm f/4L IS III USM|lens|2018-12-13|500|P||
LNS-EF800F56L|EF 800mm f/5.6L IS USM|lens|2008-05-22|480|P||
LNS-EF200F2L|EF 200mm f/2L IS USM|lens|2008-05-22|400|P||
LNS-EF135F2L|EF 135mm f/2L USM|lens|1996-04-18|120|P||
LNS-EF85F12L2|EF 85mm f/1.2L II USM|lens|2006-03-23|170|P||
LNS-EF85F14L|EF 85mm f/1.4L IS USM|lens|2017-10-19|160|P||
LNS-EF50F12L|EF 50mm f/1.2L USM|lens|2007-01-25|150|P||
LNS-EF35F14L|EF 35mm f/1.4L USM|lens|1998-02-19|130||LNS-EF35F14L2|2022-06-30
LNS-EF35F14L2|EF 35mm f/1.4L II USM|lens|2015-10-15|170|P||
LNS-EF24F14L2|EF 24mm f/1.4L II USM|lens|2008-12-11|160|P||
LNS-EF100F28LM|EF 100mm f/2.8L Macro IS USM|lens|2009-10-15|120|P||
LNS-EF180F35LM|EF 180mm f/3.5L Macro USM|lens|1996-12-12|110|P||
LNS-TSE17F4L|TS-E 17mm f/4L|lens|2009-06-18|150|P||
LNS-TSE24F35L2|TS-E 24mm f/3.5L II|lens|2009-06-18|150|P||
LNS-TSE50F28LM|TS-E 50mm f/2.8L Macro|lens|2017-12-14|150|P||
LNS-TSE90F28LM|TS-E 90mm f/2.8L Macro|lens|2017-12-14|150|P||
LNS-TSE135F4LM|TS-E 135mm f/4L Macro|lens|2017-12-14|150|P||
LNS-MPE65|MP-E 65mm f/2.8 1-5x Macro Photo|lens|1999-10-21|40|||
LNS-EF40F28|EF 40mm f/2.8 STM|lens|2012-06-28|15|||
LNS-EF50F18II|EF 50mm f/1.8 II|lens|1990-12-13|10||LNS-EF50F18STM|2020-12-31
LNS-EF50F18STM|EF 50mm f/1.8 STM|lens|2015-05-21|10|||
LNS-EF85F18|EF 85mm f/1.8 USM|lens|1992-07-16|20|||
LNS-EF100F28M|EF 100mm f/2.8 Macro USM|lens|2000-09-21|30|||
LNS-EF70300ISII|EF 70-300mm f/4-5.6 IS II USM|lens|2016-11-17|30|||
LNS-EFEXT14III|Extender EF 1.4x III|lens|2010-12-16|35|||
LNS-EFS1855STM|EF-S 18-55mm f/3.5-5.6 IS STM|lens|2013-04-23|10|||
LNS-EFS18135USM|EF-S 18-135mm f/3.5-5.6 IS USM|lens|2016-03-17|25|||
LNS-EFS18135STM|EF-S 18-135mm f/3.5-5.6 IS STM|lens|2012-06-28|20||LNS-EFS18135USM|
LNS-EFS1018STM|EF-S 10-18mm f/4.5-5.6 IS STM|lens|2014-05-22|15|||
LNS-EFS24F28|EF-S 24mm f/2.8 STM|lens|2014-11-20|10|||
LNS-EFS55250STM|EF-S 55-250mm f/4-5.6 IS STM|lens|2013-07-25|15|||
LNS-EFS1755F28|EF-S 17-55mm f/2.8 IS USM|lens|2006-05-18|40|||
LNS-EFM1545|EF-M 15-45mm f/3.5-6.3 IS STM|lens|2015-10-22|10|||
LNS-EFM22F2|EF-M 22mm f/2 STM|lens|2012-10-18|12|||
LNS-EFM32F14|EF-M 32mm f/1.4 STM|lens|2018-10-18|25|||
LNS-CNE14F|CN-E 14mm T3.1 L F|lens|2013-01-24|300|P||
LNS-CNE24F|CN-E 24mm T1.5 L F|lens|2012-08-23|300|P||
LNS-CNE35F|CN-E 35mm T1.5 L F|lens|2014-05-22|300|P||
LNS-CNE50F|CN-E 50mm T1.3 L F|lens|2012-08-23|300|P||
LNS-CNE85F|CN-E 85mm T1.3 L F|lens|2012-08-23|300|P||
LNS-CNE135F|CN-E 135mm T2.2 L F|lens|2013-05-16|300|P||
LNS-CNE155S|CN-E 15.5-47mm T2.8 L S|lens|2013-06-20|500|P||
LNS-CNE30105S|CN-E 30-105mm T2.8 L S|lens|2013-06-20|500|P||
LNS-CNE30300S|CN-E 30-300mm T2.95-3.7 L S|lens|2012-07-19|600|P||
LNS-CNE1880KAS|CN-E 18-80mm T4.4 L IS KAS S|lens|2016-11-17|350|P||
LNS-CNE70200KAS|CN-E 70-200mm T4.4 L IS KAS S|lens|2018-03-22|350|P||
LNS-CNEFZ1435|CN-E 14-35mm T1.7 L S Flex Zoom|lens|2022-12-15|500|P||
LNS-CNEFZ2050|CN-E 20-50mm T2.4 L F Flex Zoom|lens|2022-12-15|500|P||
LNS-CNEFZ3195|CN-E 31-95mm T1.7 L S Flex Zoom|lens|2022-12-15|500|P||
LNS-SUMIRE14|Sumire Prime CN-E 14mm T3.1 FP X|lens|2019-10-17|300|P||
LNS-SUMIRE35|Sumire Prime CN-E 35mm T1.5 FP X|lens|2019-06-20|300|P||
LNS-SUMIRE50|Sumire Prime CN-E 50mm T1.3 FP X|lens|2019-06-20|300|P||
LNS-SUMIRE85|Sumire Prime CN-E 85mm T1.3 FP X|lens|2019-06-20|300|P||
CIN-EOS1DC|EOS-1D C|cinema_camera|2013-03-21|400|P||2024-12-31
CIN-C100|EOS C100|cinema_camera|2012-11-22|300||CIN-C100M2|2023-06-30
CIN-C100M2|EOS C100 Mark II|cinema_camera|2014-11-20|320|P||2027-06-30
LNS-EF14F28L2|EF 14mm f/2.8L II USM|lens|2007-09-20|150|P||
LNS-EF70300L|EF 70-300mm f/4-5.6L IS USM|lens|2010-11-18|120|P||
LNS-EF70200F28L|EF 70-200mm f/2.8L USM|lens|1995-03-16|120|P||
LNS-EF70200F4L|EF 70-200mm f/4L USM|lens|1999-05-20|100|P||
LNS-EF200F28L2|EF 200mm f/2.8L II USM|lens|1996-04-18|110|P||
LNS-EF400F56L|EF 400mm f/5.6L USM|lens|1993-12-16|130|P||
LNS-CNE20F|CN-E 20mm T1.5 L F|lens|2016-06-16|300|P||
LNS-SUMIRE20|Sumire Prime CN-E 20mm T1.5 FP X|lens|2019-10-17|300|P||
LNS-SUMIRE24|Sumire Prime CN-E 24mm T1.5 FP X|lens|2019-06-20|300|P||
LNS-SUMIRE135|Sumire Prime CN-E 135mm T2.2 FP X|lens|2019-06-20|300|P||
LNS-CNE1456S|CN-E 14.5-60mm T2.6 L S|lens|2012-04-19|600|P||
LNS-CNE17120SP|CN-E 17-120mm T2.95 L SP Cine-Servo|lens|2015-03-19|600|P||
LNS-CNE501000SP|CN-E 50-1000mm T5.0-8.9 L SP Cine-Servo|lens|2014-03-20|600|P||
LNS-CNE25250SP|CN-E 25-250mm T2.95-3.95 L SP Cine-Servo|lens|2015-11-19|600|P||
LNS-CN20X50|CN20x50 IAS H/E1 Cine-Servo|lens|2018-10-18|600|P||
CIN-C300|EOS C300|cinema_camera|2012-01-26|400||CIN-C300M2|2023-03-31
CIN-C300M2|EOS C300 Mark II|cinema_camera|2015-09-17|450|P|CIN-C300M3|
CIN-C300M3|EOS C300 Mark III|cinema_camera|2020-06-25|500|P||
CIN-C500|EOS C500|cinema_camera|2012-10-18|500||CIN-C500M2|2024-09-30
CIN-C500M2|EOS C500 Mark II|cinema_camera|2019-12-12|600|P||
CIN-C200|EOS C200|cinema_camera|2017-08-24|350|P||
CIN-C200B|EOS C200B|cinema_camera|2017-08-24|330|P||
CIN-C700|EOS C700|cinema_camera|2016-12-15|600|P||
CIN-C700GS|EOS C700 GS PL|cinema_camera|2016-12-15|600|P||
CIN-C700FF|EOS C700 FF|cinema_camera|2017-12-14|600|P||
CIN-C70|EOS C70|cinema_camera|2020-11-26|350|P||
CIN-C80|EOS C80|cinema_camera|2024-11-21|380|P||
CIN-C400|EOS C400|cinema_camera|2024-09-26|500|P||
CIN-C50|EOS C50|cinema_camera|2025-11-20|350|P||
CIN-EOSR5C|EOS R5 C|cinema_camera|2022-03-24|350|P||
CCD-XF305|XF305|camcorder|2010-04-22|120||CCD-XF705|2022-12-31
CCD-XF300|XF300|camcorder|2010-04-22|110||CCD-XF405|2022-12-31
CCD-XF205|XF205|camcorder|2014-07-17|100||CCD-XF405|
CCD-XF705|XF705|camcorder|2018-09-20|180|||
CCD-XF605|XF605|camcorder|2021-10-28|150|||
CCD-XF405|XF405|camcorder|2018-03-22|130|||
CCD-XF400|XF400|camcorder|2018-03-22|120|||
CCD-XA75|XA75|camcorder|2021-06-24|80|||
CCD-XA65|XA65|camcorder|2021-06-24|70|||
CCD-XA60|XA60|camcorder|2021-06-24|60|||
CCD-XA40|XA40|camcorder|2018-03-22|50||CCD-XA60|
CCD-HFG70|LEGRIA HF G70|camcorder|2021-06-24|30|||
FLS-600EXRT|Speedlite 600EX-RT|flash|2012-04-19|45||FLS-600EX2RT|2027-03-31
FLS-600EX2RT|Speedlite 600EX II-RT|flash|2016-06-23|50|||
FLS-580EX2|Speedlite 580EX II|flash|2007-09-20|40||FLS-600EXRT|2019-12-31
FLS-430EX3RT|Speedlite 430EX III-RT|flash|2015-06-18|30|||
FLS-470EXAI|Speedlite 470EX-AI|flash|2018-04-19|35|||
FLS-270EX2|Speedlite 270EX II|flash|2011-05-19|15|||
FLS-EL1|Speedlite EL-1|flash|2019-12-12|60|||
FLS-EL5|Speedlite EL-5|flash|2023-04-13|50|||
FLS-EL10|Speedlite EL-10|flash|2023-04-27|35|||
FLS-EL100|Speedlite EL-100|flash|2019-07-18|20|||
FLS-MT26EXRT|Macro Twin Lite MT-26EX-RT|flash|2015-11-19|45|||
FLS-MR14EX2|Macro Ring Lite MR-14EX II|flash|2013-10-17|40|||
FLS-STE3RT|Speedlite Transmitter ST-E3-RT|flash|2012-04-19|15||FLS-STE3RTV2|
FLS-STE3RTV2|Speedlite Transmitter ST-E3-RT (Ver. 2)|flash|2020-05-21|15|||
FLS-STE10|Speedlite Transmitter ST-E10|flash|2023-04-13|15|||
PRN-IPFPRO1000|imagePROGRAF PRO-1000|printer|2016-03-24|80||PRN-IPFPRO1100|
PRN-IPFPRO1100|imagePROGRAF PRO-1100|printer|2023-11-16|90|||
PRN-IPFPRO300|imagePROGRAF PRO-300|printer|2020-04-16|60|||
PRN-IPFPRO2000|imagePROGRAF PRO-2000|printer|2016-04-21|100||PRN-IPFPRO2100|
PRN-IPFPRO4000|imagePROGRAF PRO-4000|printer|2016-04-21|110||PRN-IPFPRO4100|
PRN-IPFPRO6000|imagePROGRAF PRO-6000|printer|2016-04-21|110||PRN-IPFPRO6100|
PRN-IPFPRO2100|imagePROGRAF PRO-2100|printer|2019-09-19|110||PRN-IPFPRO2600|
PRN-IPFPRO4100|imagePROGRAF PRO-4100|printer|2019-09-19|120||PRN-IPFPRO4600|
PRN-IPFPRO6100|imagePROGRAF PRO-6100|printer|2019-09-19|120||PRN-IPFPRO6600|
PRN-IPFPRO2600|imagePROGRAF PRO-2600|printer|2022-04-21|110|||
PRN-IPFPRO4600|imagePROGRAF PRO-4600|printer|2022-04-21|120|||
PRN-IPFPRO6600|imagePROGRAF PRO-6600|printer|2022-04-21|120|||
PRN-PIXMAPRO1|PIXMA PRO-1|printer|2011-10-20|50|||2021-12-31
PRN-PIXMAPRO10|PIXMA PRO-10|printer|2012-11-15|35||PRN-PIXMAPRO10S|2022-12-31
PRN-PIXMAPRO10S|PIXMA PRO-10S|printer|2015-09-17|35|||
PRN-PIXMAPRO100|PIXMA PRO-100|printer|2012-11-15|25||PRN-PIXMAPRO100S|2022-12-31
PRN-PIXMAPRO100S|PIXMA PRO-100S|printer|2015-09-17|25||PRN-PIXMAPRO200|
PRN-PIXMAPRO200|PIXMA PRO-200|printer|2020-04-16|40|||
PRN-SELPHYCP1500|SELPHY CP1500|printer|2021-09-23|20|||
ACC-BGR10|Battery Grip BG-R10|accessory|2020-07-30|8|||
ACC-BGR20|Battery Grip BG-R20|accessory|2024-08-15|8|||
ACC-BGE11|Battery Grip BG-E11|accessory|2012-03-22|6|||
ACC-BGE20|Battery Grip BG-E20|accessory|2016-09-08|6|||
ACC-BRE1|Wireless Remote Control BR-E1|accessory|2016-07-21|3|||
ACC-RC6|Remote Controller RC-6|accessory|2008-03-20|2|||
ACC-TC80N3|Remote Controller TC-80N3|accessory|2004-06-17|4|||
ACC-LPE6N|Battery Pack LP-E6N|accessory|2014-10-30|3||ACC-LPE6NH|
ACC-LPE6NH|Battery Pack LP-E6NH|accessory|2020-07-30|3|||
ACC-LPE6P|Battery Pack LP-E6P|accessory|2024-08-15|4|||
ACC-LPE19|Battery Pack LP-E19|accessory|2017-02-23|4|||
ACC-LPE17|Battery Pack LP-E17|accessory|2015-04-23|3|||
ACC-LCE6E|Battery Charger LC-E6E|accessory|2008-11-27|3|||
ACC-MAEFR|Mount Adapter EF-EOS R|accessory|2018-10-09|5|||
ACC-MAEFRCR|Control Ring Mount Adapter EF-EOS R|accessory|2018-10-09|8|||
ACC-MAEFRDF|Drop-In Filter Mount Adapter EF-EOS R|accessory|2018-10-09|10|||
ACC-MAPLRC|Mount Adapter PL-RF (Cinema EOS)|accessory|2022-03-24|10|||
ACC-WFTE6|Wireless File Transmitter WFT-E6|accessory|2012-06-20|10||ACC-WFTE8|2023-12-31
ACC-WFTE7|Wireless File Transmitter WFT-E7|accessory|2012-03-22|10||ACC-WFTE7B|
ACC-WFTE7B|Wireless File Transmitter WFT-E7B|accessory|2016-09-08|10|||
ACC-WFTE8|Wireless File Transmitter WFT-E8|accessory|2016-04-28|10|||
ACC-WFTE9|Wireless File Transmitter WFT-E9|accessory|2020-02-13|10|||
ACC-WFTR10|Wireless File Transmitter WFT-R10|accessory|2020-07-30|10|||
ACC-GPE2|GPS Receiver GP-E2|accessory|2012-03-22|6|||
ACC-DME1|Stereo Microphone DM-E1|accessory|2015-06-18|5|||
ACC-DME1D|Stereo Microphone DM-E1D|accessory|2021-11-18|5|||
ACC-EF12II|Extension Tube EF12 II|accessory|2005-02-17|2|||
ACC-EF25II|Extension Tube EF25 II|accessory|2005-02-17|2|||
ACC-CPE4N|Compact Battery Pack CP-E4N|accessory|2012-04-19|5|||
OTH-CS100|Connect Station CS100|other|2015-06-18|10|||2025-06-30
OTH-CRN300|PTZ Camera CR-N300|other|2021-03-18|40|||
OTH-CRN500|PTZ Camera CR-N500|other|2020-11-26|60|||
OTH-CRN700|PTZ Camera CR-N700|other|2023-06-15|70|||
"""

# Extra colours of consumer bodies and lenses (the base SKU is the first, standard colour).
COLOURS = {
    "CAM-EOSR50": ["WH"],
    "CAM-EOSR50V": ["WH"],
    "CAM-EOSR100": ["WH"],
    "CAM-EOSM50": ["WH"],
    "CAM-EOSM50M2": ["WH"],
    "CAM-EOSM6M2": ["SV"],
    "CAM-EOSM200": ["WH"],
    "CAM-EOSM100": ["WH", "GY"],
    "CAM-EOS200D": ["WH", "SV"],
    "CAM-EOS250D": ["WH", "SV"],
    "CAM-EOS100D": ["WH"],
    "LNS-RFS1845": ["WH"],
    "LNS-EFM1545": ["SV", "GY"],
    "LNS-EFM22F2": ["SV"],
    "LNS-EFM32F14": ["SV"],
}
COLOUR_NAMES = {"WH": "White", "SV": "Silver", "GY": "Graphite"}

# Kits: body + kit lens (points: body + lens).
KITS = {
    "CAM-EOSR": ["LNS-RF24105F4L"],
    "CAM-EOSRP": ["LNS-RF24105F4L", "LNS-RF35F18M"],
    "CAM-EOSR5": ["LNS-RF24105F4L"],
    "CAM-EOSR5M2": ["LNS-RF24105F4L"],
    "CAM-EOSR6": ["LNS-RF24105F4L", "LNS-RF24105STM"],
    "CAM-EOSR6M2": ["LNS-RF24105F4L", "LNS-RF24105STM"],
    "CAM-EOSR6M3": ["LNS-RF24105F4L"],
    "CAM-EOSR7": ["LNS-RFS18150"],
    "CAM-EOSR8": ["LNS-RF2450"],
    "CAM-EOSR10": ["LNS-RFS1845", "LNS-RFS18150"],
    "CAM-EOSR50": ["LNS-RFS1845"],
    "CAM-EOSR100": ["LNS-RFS1845"],
    "CAM-EOSM50": ["LNS-EFM1545"],
    "CAM-EOSM50M2": ["LNS-EFM1545"],
    "CAM-EOSM200": ["LNS-EFM1545"],
    "CAM-EOS5DM3": ["LNS-EF24105F4L"],
    "CAM-EOS5DM4": ["LNS-EF24105F4L", "LNS-EF2470F4L"],
    "CAM-EOS6D": ["LNS-EF24105F4L"],
    "CAM-EOS6DM2": ["LNS-EF24105F4L"],
    "CAM-EOS7DM2": ["LNS-EFS18135STM"],
    "CAM-EOS80D": ["LNS-EFS18135USM"],
    "CAM-EOS90D": ["LNS-EFS18135USM"],
    "CAM-EOS800D": ["LNS-EFS1855STM"],
    "CAM-EOS850D": ["LNS-EFS1855STM", "LNS-EFS18135USM"],
    "CAM-EOS200D": ["LNS-EFS1855STM"],
    "CAM-EOS250D": ["LNS-EFS1855STM"],
    "CAM-EOS2000D": ["LNS-EFS1855STM"],
    "CAM-EOS4000D": ["LNS-EFS1855STM"],
}

# Named bundles of consumer bodies (points: the body's).
BUNDLES = {
    "CRK": "Content Creator Kit",
    "VLK": "Vlogger Kit",
}
BUNDLED = {
    "CAM-EOSR50": ["CRK"],
    "CAM-EOSR50V": ["CRK", "VLK"],
    "CAM-EOSR10": ["CRK"],
    "CAM-EOSM50M2": ["VLK"],
    "CAM-EOS250D": ["VLK"],
    "CAM-EOSR100": ["CRK"],
}

# Regional SKUs for the EMEA markets.
REGIONS = {
    "EU": "EU",
    "UK": "UK",
    "NORDIC": "Nordic",
    "CH": "Switzerland",
    "PL": "Poland",
    "CEE": "Central & Eastern Europe",
    "TR": "Turkey",
    "IL": "Israel",
    "ME": "Middle East",
    "ZA": "South Africa",
    "AFR": "Africa",
}

COLUMNS = [
    "product_sku",
    "product_name",
    "category",
    "is_video",
    "launch_date",
    "base_points",
    "fast_track",
    "superseded_by",
    "superseded_on",
    "service_end_date",
]
VIDEO_CATEGORIES = {"cinema_camera", "camcorder"}

CSC_COUNTRIES = [
    ("GB", "London"),
    ("DE", "Krefeld"),
    ("FR", "Paris"),
    ("IT", "Milan"),
    ("ES", "Madrid"),
    ("NL", "Amstelveen"),
    ("SE", "Stockholm"),
    ("PL", "Warsaw"),
    ("AE", "Dubai"),
    ("ZA", "Johannesburg"),
    ("BE", "Brussels"),
    ("CH", "Zurich"),
    ("AT", "Vienna"),
    ("DK", "Copenhagen"),
]
PARTNER_CITIES = [
    ("GB", "Manchester"),
    ("GB", "Glasgow"),
    ("DE", "Munich"),
    ("DE", "Berlin"),
    ("FR", "Lyon"),
    ("IT", "Rome"),
    ("ES", "Barcelona"),
    ("IE", "Dublin"),
    ("PT", "Lisbon"),
    ("NO", "Oslo"),
    ("FI", "Helsinki"),
    ("CZ", "Prague"),
    ("SK", "Bratislava"),
    ("HU", "Budapest"),
    ("RO", "Bucharest"),
    ("BG", "Sofia"),
    ("GR", "Athens"),
    ("HR", "Zagreb"),
    ("SI", "Ljubljana"),
    ("RS", "Belgrade"),
    ("LT", "Vilnius"),
    ("LV", "Riga"),
    ("EE", "Tallinn"),
    ("LU", "Luxembourg"),
    ("CY", "Nicosia"),
    ("MT", "Valletta"),
    ("IS", "Reykjavik"),
    ("TR", "Istanbul"),
    ("IL", "Tel Aviv"),
    ("SA", "Riyadh"),
    ("QA", "Doha"),
    ("KW", "Kuwait City"),
    ("BH", "Manama"),
    ("OM", "Muscat"),
    ("JO", "Amman"),
    ("EG", "Cairo"),
    ("MA", "Casablanca"),
    ("NG", "Lagos"),
    ("KE", "Nairobi"),
    ("ZA", "Cape Town"),
]


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    launch_date: str
    base_points: int
    pro: bool
    superseded_by: str
    service_end_date: str
    fast_track: bool = False
    superseded_on: str = ""


def curated() -> list[Product]:
    products = []
    for line in CURATED.strip().splitlines():
        sku, name, category, launch, points, flags, succ, end = line.split("|")
        products.append(Product(sku, f"Canon {name}", category, launch, int(points), "P" in flags, succ, end))
    by_sku = {p.sku: p for p in products}
    assert len(by_sku) == len(products), "duplicate curated SKU"
    linked = []
    for p in products:
        on = by_sku[p.superseded_by].launch_date if p.superseded_by else ""
        assert not on or on >= p.launch_date, p.sku
        linked.append(replace(p, superseded_on=on))
    # Fast track: the highest-pointed professional products still in service (ties by SKU).
    pool = sorted((p for p in linked if p.pro and not p.service_end_date), key=lambda p: (-p.base_points, p.sku))
    assert len(pool) >= FAST_TRACK_COUNT, f"only {len(pool)} fast-track candidates"
    chosen = {p.sku for p in pool[:FAST_TRACK_COUNT]}
    return [replace(p, fast_track=p.sku in chosen) for p in linked]


def variants(products: list[Product]) -> list[Product]:
    by_sku = {p.sku: p for p in products}
    rows: list[Product] = []
    for p in products:
        family = [p]
        for code in COLOURS.get(p.sku, []):
            family.append(replace(p, sku=f"{p.sku}-{code}", name=f"{p.name} ({COLOUR_NAMES[code]})", fast_track=False))
        for lens_sku in KITS.get(p.sku, []):
            lens = by_sku[lens_sku]
            assert lens.launch_date <= p.launch_date, f"kit lens {lens_sku} newer than {p.sku}"
            family.append(
                replace(
                    p,
                    sku=f"{p.sku}-K{lens_sku.removeprefix('LNS-')}",
                    name=f"{p.name} + {lens.name.removeprefix('Canon ')} Kit",
                    base_points=p.base_points + lens.base_points,
                    fast_track=False,
                )
            )
        for code in BUNDLED.get(p.sku, []):
            family.append(replace(p, sku=f"{p.sku}-{code}", name=f"{p.name} {BUNDLES[code]}", fast_track=False))
        for member in family:
            rows.append(member)
            for code, region in REGIONS.items():
                rows.append(
                    replace(member, sku=f"{member.sku}-{code}", name=f"{member.name} ({region})", fast_track=False)
                )
    return rows


def products_csv() -> str:
    rows = variants(curated())
    assert len(rows) >= MIN_ROWS, len(rows)
    assert len({r.sku for r in rows}) == len(rows), "duplicate SKU"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.sku,
                r.name,
                r.category,
                "true" if r.category in VIDEO_CATEGORIES else "false",
                r.launch_date,
                r.base_points,
                "true" if r.fast_track else "false",
                r.superseded_by,
                r.superseded_on,
                r.service_end_date,
            ]
        )
    return buf.getvalue()


def service_centres_csv() -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["centre_id", "name", "country", "centre_type"])
    for country, city in CSC_COUNTRIES:
        writer.writerow([f"CSC-{country}", f"Canon Service Centre {city}", country, "canon_service_centre"])
    seen: dict[str, int] = {}
    for country, city in PARTNER_CITIES:
        seen[country] = seen.get(country, 0) + 1
        writer.writerow(
            [f"ASP-{country}-{seen[country]:02d}", f"Authorised Service Partner {city}", country, "authorised_partner"]
        )
    return buf.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "catalog")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "products.csv").write_text(products_csv(), encoding="utf-8", newline="")
    (args.out / "service_centres.csv").write_text(service_centres_csv(), encoding="utf-8", newline="")


if __name__ == "__main__":
    main()
