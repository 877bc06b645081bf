#!/usr/bin/env python3
"""The StackOverflow script lookalike started from (shared/origin), as written, recording its decisions.

The algorithm is the original's: four threads resize every file of one folder to 800×600 and take Pillow's
histogram, then four threads compute the RMS of every pair in pure Python (functools.reduce over map); a pair
with RMS < 500 is a "maybe duplicate", RMS == 0 an "exact duplicate". Changed, and only this:
- `Image.ANTIALIAS` is `Image.Resampling.LANCZOS`, the same filter under the name Pillow keeps;
- `compare_hist` records (name, name, rms, folder) instead of moving both files into the folder, and the two
  folders are not created: the benchmark and the tests need the collection unchanged;
- `main` also returns its decisions and the time of each phase; `--json FILE` writes them.

usage: original_script.py FOLDER [--json FILE]
"""

import argparse
import datetime
import functools
import itertools
import json
import math
import operator
import os
import queue
import threading
import time

from PIL import Image


def calc_rms(hist1, hist2):
    return math.sqrt(
        functools.reduce(operator.add, map(
            lambda a, b: (a - b) ** 2, hist1, hist2
        )) / len(hist1)
    )


def make_histogram(imgs, path, qout):
    for img in imgs:
        try:
            tmp = Image.open(os.path.join(path, img))
            tmp = tmp.resize((800, 600), Image.Resampling.LANCZOS)
            qout.put([img, tmp.histogram()])
        except Exception:
            print('bad image: ' + img)
    return


def compare_hist(pairs, path, decisions):
    for pair in pairs:
        rms = calc_rms(pair[0][1], pair[1][1])
        if rms < 500:
            folder = 'maybe duplicates'
            if rms == 0:
                folder = 'exact duplicates'
            decisions.append([pair[0][0], pair[1][0], rms, folder])  # instead of os.rename of both files
    return


def get_time():
    return datetime.datetime.now().strftime("%H:%M:%S")


def chunkify(lst, n):
    return [lst[i::n] for i in range(n)]


def main(path):
    starttime = get_time()
    started = time.perf_counter()
    qout = queue.Queue()
    images = []
    for img in os.listdir(path):
        if os.path.isfile(os.path.join(path, img)):
            images.append(img)
    imglen = len(images)
    print('Resizing ' + str(imglen) + ' Images ' + starttime)
    images = chunkify(images, 4)
    threads = []
    for x in range(4):
        threads.append(threading.Thread(target=make_histogram, args=(images[x], path, qout)))

    [x.start() for x in threads]
    [x.join() for x in threads]

    resizetime = get_time()
    resized = time.perf_counter()
    print('Done resizing ' + resizetime)

    histlist = []
    for i in qout.queue:
        histlist.append(i)

    combinations = []
    for img1, img2 in itertools.combinations(histlist, 2):
        combinations.append([img1, img2])

    combicount = len(combinations)
    print('Going through ' + str(combicount) + ' combinations of ' + str(imglen) + ' Images. Please stand by')
    combinations = chunkify(combinations, 4)

    threads = []
    decisions = []

    for x in range(4):
        threads.append(threading.Thread(target=compare_hist, args=(combinations[x], path, decisions)))

    [x.start() for x in threads]
    [x.join() for x in threads]

    print('\nstarted at ' + starttime)
    print('resizing done at ' + resizetime)
    print('went through ' + str(combicount) + ' combinations of ' + str(imglen) + ' Images')
    print('all done at ' + get_time())
    return {
        "images": imglen,
        "histograms": {name: histogram for name, histogram in histlist},
        "combinations": combicount,
        "decisions": decisions,
        "seconds": {"resize": resized - started, "compare": time.perf_counter() - resized},
    }


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a folder of images to compare (its files only, not its subfolders)")
    parser.add_argument("--json", metavar="FILE", help="write the decisions and timings here")
    arguments = parser.parse_args()
    result = main(arguments.folder)
    if arguments.json:
        with open(arguments.json, "w") as out:
            json.dump({key: value for key, value in result.items() if key != "histograms"}, out)
