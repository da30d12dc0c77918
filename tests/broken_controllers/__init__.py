"""Deliberately broken variants of the reference controller, one defect each.

The suite must fail every one of them and name the requirement it breaks;
``tests/e2e/test_broken_controllers.py`` holds it to that. Each defect is a
subclass that changes one method, so the reference itself carries no switches.
"""
