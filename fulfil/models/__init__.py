"""Every table of Fulfil; importing this package registers them all on Base.metadata."""

from fulfil.models.auth import ApiToken, Role
from fulfil.models.base import Base
from fulfil.models.feed import FeedClock
from fulfil.models.hold import HoldStatus, StockHold, StockHoldLine
from fulfil.models.location import Location, LocationKind
from fulfil.models.order import Channel, Order, OrderCancellation, OrderLine, OrderStatus, Return, ReturnGrade, ReturnLine
from fulfil.models.product import Product
from fulfil.models.revision import Revision
from fulfil.models.routing import RoutingDecision, RoutingRun
from fulfil.models.shipment import (
    Handover, Parcel, ParcelStatus, ParcelVerification, ScanOutcome, Shipment, ShipmentLine, ShipmentScan, ShipmentStatus, ShortPick,
    ShortPickRequest, ShortReason,
)
from fulfil.models.staff import ServiceSecret, SignInFailure, StaffMember
from fulfil.models.store import DomainEvent, StoreTask, TaskKind, TaskStatus
from fulfil.models.stock import AppendOnlyViolation, StockCause, StockEvent, StockEventKind, StockLevel
from fulfil.models.tag import RfidTag, TagAnomaly, TagState
from fulfil.models.webhook import DeliveryStatus, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "DomainEvent", "FeedClock", "HoldStatus", "StockHold", "StockHoldLine", "Handover", "OrderCancellation", "Return", "ReturnGrade", "ReturnLine", "ShortPick", "ShortPickRequest", "ShortReason", "ScanOutcome", "ShipmentScan",
    "StoreTask", "TaskKind", "TaskStatus",
    "ApiToken", "AppendOnlyViolation", "Base", "Channel", "Location", "LocationKind", "Order", "OrderLine",
    "OrderStatus", "Parcel", "ParcelStatus", "ParcelVerification", "Product", "Revision", "ServiceSecret", "SignInFailure", "StaffMember", "RfidTag", "Role", "RoutingDecision", "RoutingRun", "Shipment",
    "ShipmentLine", "ShipmentStatus", "StockCause", "StockEvent", "StockEventKind", "StockLevel", "TagAnomaly", "TagState",
    "DeliveryStatus", "EndpointStatus", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint", "WebhookEvent",
]
