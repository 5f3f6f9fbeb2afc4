"""Pure order routing: instance -> model -> solve -> plan, with a checker, real-time state and explanations."""

from routing.check import CheckReport, check
from routing.errors import InvalidDocument, InvalidInstance, InvalidPlan, RoutingError, UnknownOrder
from routing.formats import (
    dumps,
    instance_from_dict,
    instance_to_dict,
    load_instance,
    load_plan,
    plan_from_dict,
    plan_to_dict,
)
from routing.generate import generate
from routing.greedy import solve_greedy
from routing.model import (
    CostBreakdown,
    Instance,
    Location,
    Order,
    OrderLine,
    Params,
    Plan,
    Shipment,
    ShipmentLine,
    SolverInfo,
    StockItem,
    Unfilled,
)
from routing.realtime import Decision, RoutingState
from routing.reoptimize import Move, reoptimize
from routing.solver import Options, solve_optimal

__all__ = [
    "CheckReport", "CostBreakdown", "Decision", "Instance", "InvalidDocument", "InvalidInstance", "InvalidPlan",
    "Location", "Move", "Options", "Order", "OrderLine", "Params", "Plan", "RoutingError", "RoutingState",
    "Shipment", "ShipmentLine", "SolverInfo", "StockItem", "Unfilled", "UnknownOrder", "check", "dumps",
    "generate", "instance_from_dict", "instance_to_dict", "load_instance", "load_plan", "plan_from_dict",
    "plan_to_dict", "reoptimize", "solve_greedy", "solve_optimal",
]
