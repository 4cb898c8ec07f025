"""Pulumi unit tests run offline: mocks stand in for the engine and the cloud (no CLI, no network)."""

import os
import sys

import pulumi

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        outputs.setdefault("name", args.name)
        outputs.setdefault("arn", f"arn:aws:mock:::{args.typ}/{args.name}")
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


pulumi.runtime.set_mocks(Mocks(), preview=False)
